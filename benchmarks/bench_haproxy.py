"""HAProxy figures: parsing a 10,000-server stats CSV, and `failover health` with a hung controller.

The second figure proves the controllers are read in parallel: with one (or both) controllers
never answering, the command takes about the configured timeout, not twice it.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.run import Figure
from failover.haproxy import parse_stats_csv
from sandbox.backends import ScriptedHTTPServer, SilentListener

HEADER_26 = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
    "wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,"
    "lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,"
    "hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,"
    "cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,"
    "ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,"
    "check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,"
    "conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,"
    "cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,"
    "safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,"
    "agg_server_check_status,agg_check_status,-,"
)
"""The `show stat` header of HAProxy 2.6 (106 columns), as the sandbox's HAProxy prints it."""

SERVER_26 = (
    "{px},{sv},0,0,{scur},0,,0,0,0,,0,,0,0,0,0,{status},1,1,0,0,0,0,0,,1,4,1,,0,,2,0,,0,L7OK,"
    "200,0,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,Layer7 check passed,,1,2,2,,,,"
    "127.0.0.1:35977,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,"
)
FRONTEND_26 = (
    "{px},FRONTEND,,,0,0,2000,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,3,0,,,,0,0,0,0,,,,0,0,0,0,0,0,,"
    "0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,0,0,0,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,"
)


def big_csv(servers: int = 10_000, per_backend: int = 10) -> str:
    """Return a 2.6-shaped stats CSV with `servers` servers spread over backends."""
    lines = [HEADER_26]
    for b in range(servers // per_backend):
        lines.append(FRONTEND_26.format(px=f"svc{b}_frontend"))
        for s in range(per_backend):
            status = ("UP", "DOWN", "UP 1/2", "MAINT", "DRAIN")[s % 5]
            lines.append(SERVER_26.format(px=f"svc{b}_backend", sv=f"srv{s}", scur=s,
                                          status=status))
    return "\n".join(lines) + "\n"


def bench_parse() -> Figure:
    text = big_csv()
    best = min(_timed(lambda: parse_stats_csv(text)) for _ in range(5))
    return Figure("parse stats CSV, 10,000 servers (best of 5)", f"{best * 1000:.1f} ms",
                  "< 100 ms", best < 0.1)


def _timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def _config(work: Path, stats: tuple[str, str], timeout: float) -> Path:
    path = work / "bench.toml"
    path.write_text(f"""
[haproxy]
timeout = {timeout}
connect_timeout = {timeout}
[regions.eqiad1]
fqdn = "openstack.eqiad1.wikimediacloud.org"
services = ["nova_api"]
[regions.eqiad1.controllers.cloudcontrol1003]
target = "cloudcontrol1003.wikimedia.org."
stats = "{stats[0]}"
[regions.eqiad1.controllers.cloudcontrol1004]
target = "cloudcontrol1004.wikimedia.org."
stats = "{stats[1]}"
""")
    return path


def run_health(config: Path) -> tuple[float, int]:
    """Return the wall time and exit code of `failover health eqiad1`, run in-process."""
    from failover import cli

    argv = sys.argv
    sys.argv = ["failover", "health", "eqiad1", "--config", str(config), "--json"]
    code = 0
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        sys.argv = argv
    return time.perf_counter() - started, code


def bench_hung(timeout: float = 2.0) -> list[Figure]:
    good = ("# pxname,svname,status,act,bck,type,\nnova_api_frontend,FRONTEND,OPEN,,,0,\n"
            "nova_api_backend,a,UP,1,0,2,\nnova_api_backend,BACKEND,UP,1,0,1,\n")
    figures = []
    with tempfile.TemporaryDirectory(prefix="fo-bench-") as work, \
            ScriptedHTTPServer({"/stats;csv": (200, good)}) as srv, \
            SilentListener() as hung1, SilentListener() as hung2:
        hung = [f"http://127.0.0.1:{h.port}/stats;csv" for h in (hung1, hung2)]
        good_url = srv.url("/stats;csv")
        run_health(_config(Path(work), (good_url, good_url), timeout))  # warm imports
        for label, stats in (("one controller hung", (hung[0], good_url)),
                             ("both controllers hung", (hung[0], hung[1]))):
            wall, code = run_health(_config(Path(work), stats, timeout))
            limit = timeout * 1.1
            figures.append(Figure(f"failover health, {label} (exit {code})",
                                  f"{wall:.2f} s", f"<= {limit:.2f} s (timeout {timeout:g} s "
                                  "+ 10%)", wall <= limit))
    return figures


def run() -> list[Figure]:
    """Return the parse and hung-controller figures."""
    return [bench_parse(), *bench_hung()]


if __name__ == "__main__":
    for fig in run():
        print(fig)
