"""Start-up stays cheap: each command imports only the heavy libraries it needs.

`failover --help`, shell completion and every usage error run only `import failover.cli`;
git (GitPython), dns (dnspython), jinja2 and requests are imported where a command needs them.
Each command path then runs for real in a fresh process, against a config whose servers are
all an unreachable 127.0.0.1 port (so it ends at once), and reports what it imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("git", "dns", "jinja2", "requests")
ROOT = Path(__file__).resolve().parents[2]
WATCHED = ("git", "gitdb", "jinja2", "requests", "urllib3", "charset_normalizer",
           "dns", "dns.resolver", "rich.table", "rich.syntax", "pygments", "pydantic",
           "dns.query", "importlib.metadata")
"""The packages and modules whose import costs tens of milliseconds each."""
RUN = ("import atexit, json, sys\n"
       "atexit.register(lambda: print(json.dumps(sorted(m for m in {watched!r} "
       "if m in sys.modules)), file=open({out!r}, 'w')))\n"
       "sys.argv = ['failover', *sys.argv[1:]]\n"
       "from failover.cli import main\n"
       "main()\n")
CONFIG = """
[dns]
checkout = "{checkout}"
zone_file = "templates/wikimediacloud.org"
[gerrit]
url = "http://127.0.0.1:9/r"
timeout = 1
[verify]
nameservers = ["127.0.0.1:9"]
query_timeout = 0.2
timeout = 1
[haproxy]
timeout = 0.5
connect_timeout = 0.5
[regions.eqiad1]
fqdn = "openstack.eqiad1.wikimediacloud.org"
services = ["nova_api"]
[regions.eqiad1.controllers.cloudcontrol1003]
target = "cloudcontrol1003.wikimedia.org."
stats = "http://127.0.0.1:9/stats;csv"
[regions.eqiad1.controllers.cloudcontrol1004]
target = "cloudcontrol1004.wikimedia.org."
stats = "http://127.0.0.1:9/stats;csv"
"""
HTTP_ONLY = {"requests", "urllib3", "charset_normalizer"}
DNS_UNUSED = {"dns.query"}
"""Not imported by a command asking nameservers: the queries are sent and read by
failover.dnscheck.query (dns.query only for a truncated answer)."""
ALWAYS = HTTP_ONLY | {"pydantic"}
"""Never imported by a command path: pydantic came with Typer's coercion of the parameters
(failover.commands.plain_params does it for the commands' plain types)."""
NOT_IMPORTED = {
    "--version": set(WATCHED),
    "status eqiad1": {"git", "gitdb", "jinja2", "dns.resolver", "rich.syntax", "pygments"}
    | ALWAYS | DNS_UNUSED,
    "health eqiad1": {"git", "gitdb", "jinja2", "dns.resolver", "rich.syntax", "pygments"}
    | ALWAYS,
    "check eqiad1": {"git", "gitdb", "jinja2", "dns.resolver", "rich.table", "rich.syntax",
                     "pygments"} | ALWAYS | DNS_UNUSED,
    "verify eqiad1 --once": {"git", "gitdb", "jinja2", "dns.resolver", "rich.syntax",
                             "pygments"} | ALWAYS | DNS_UNUSED,
    "history eqiad1 --limit 3": {"git", "gitdb", "jinja2", "dns", "rich.table", "rich.syntax",
                                 "pygments"} | ALWAYS,
    "promote eqiad1 cloudcontrol1004 --dry-run": ALWAYS,
    "promote eqiad1 cloudcontrol1004 --yes --no-wait": ALWAYS,
}
"""What each command path must not import: none reads git or renders the template; the
HAProxy stats and Gerrit's REST are read with http.client (failover.httpget); addresses are
asked without dnspython's resolver; `history` reads git's own output, without dnspython.
`promote` needs GitPython but not requests (only an outside system that is configured and
called, SAL, Alertmanager or Phabricator, imports it).
(`status` with a checkout asks Gerrit: tests/world/test_status.py pins that it still needs
neither GitPython nor requests then.)"""


def test_import_cli_pulls_in_none_of_git_dns_jinja2_requests() -> None:
    code = ("import json, sys; import failover.cli; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env, check=True)
    assert json.loads(done.stdout) == []


def imported_by(command: str, tmp_path: Path) -> list[str]:
    """Run `failover COMMAND` in a fresh process; return the WATCHED modules it imported."""
    config, out = tmp_path / "config.toml", tmp_path / "imported.json"
    config.write_text(CONFIG.format(checkout=tmp_path / "no-checkout"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FAILOVER_CONFIG": str(config),
           "XDG_STATE_HOME": str(tmp_path / "state")}
    subprocess.run([sys.executable, "-c", RUN.format(watched=WATCHED, out=str(out)),
                    *command.split()], capture_output=True, text=True, timeout=60, env=env,
                   check=False)
    imported: list[str] = json.loads(out.read_text())
    return imported


@pytest.mark.parametrize("command", list(NOT_IMPORTED))
def test_each_command_path_imports_only_what_it_needs(command: str, tmp_path: Path) -> None:
    assert set(imported_by(command, tmp_path)) & NOT_IMPORTED[command] == set()


def test_promote_steps_and_gerrit_import_no_requests() -> None:
    """Every module a promote's steps import up front (its STEP_MODULES), Gerrit's client and
    the outside systems' start-up import none of requests, urllib3, charset_normalizer."""
    code = ("import importlib, json, sys\n"
            "from failover.promote.run import STEP_MODULES\n"
            "from failover.outside_systems import SYSTEMS\n"
            "for name in (*STEP_MODULES, *SYSTEMS, 'failover.gerrit', 'failover.promote.outside', "
            "'failover.outside', 'failover.status'):\n"
            "    importlib.import_module(name)\n"
            f"print(json.dumps(sorted(m for m in {sorted(HTTP_ONLY)!r} if m in sys.modules)))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env, check=True)
    assert json.loads(done.stdout) == []


HISTORY_NOT_NEEDED = ("rich.console", "failover.repo.commit", "failover.repo.push",
                      "failover.repo.worktree", "failover.zone.edit", "failover.zone.check",
                      "failover.zone.gdnsd")
"""What `history --json` does not need: the rest of the repo and zone packages (their
`__init__` imports a module when one of its names is asked, failover/lazy.py), nor Rich's
console (JSON is written without it)."""


def test_history_json_imports_only_the_history(tmp_path: Path) -> None:
    """Run for real on a git repository built here (the other paths above stop earlier)."""
    repo = tmp_path / "dns"
    subprocess.run(["git", "init", "-q", "-b", "master", str(repo)], check=True, timeout=30)
    (repo / "templates").mkdir()
    (repo / ".gitreview").write_text("[gerrit]\nhost=gerrit.example.org\n"
                                     "project=operations/dns.git\ndefaultbranch=master\n")
    for target in ("cloudcontrol1003", "cloudcontrol1004"):
        (repo / "templates/wikimediacloud.org").write_text(
            f"$ORIGIN wikimediacloud.org.\nopenstack.eqiad1 5M IN CNAME {target}.wikimedia.org.\n")
        for args in (["add", "."], ["commit", "-qm", f"to {target}"]):
            subprocess.run(["git", "-c", "user.name=H", "-c", "user.email=h@example.org", *args],
                           cwd=repo, check=True, timeout=30, capture_output=True)
    subprocess.run(["git", "remote", "add", "origin", str(tmp_path / "nowhere")], cwd=repo,
                   check=True, timeout=30)
    subprocess.run(["git", "update-ref", "refs/remotes/origin/master", "HEAD"], cwd=repo,
                   check=True, timeout=30)
    config, out = tmp_path / "config.toml", tmp_path / "imported.json"
    config.write_text(CONFIG.format(checkout=repo))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-c", RUN.format(watched=HISTORY_NOT_NEEDED,
                                                            out=str(out)),
                           "history", "eqiad1", "--json", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert [c["to"] for c in json.loads(done.stdout)["changes"]] == \
        ["cloudcontrol1004", "cloudcontrol1003"]
    assert json.loads(out.read_text()) == []
