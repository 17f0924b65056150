"""The promote path's prepare on a large zone: time per step and peak memory, at two sizes.

The steps are those of `Promotion._prepare`: a temporary worktree of the checkout, read the
template, edit the record, validate (Jinja render, lint, gdnsd checkconf), write it back
atomically, commit. The template is shaped like the big operations/dns ones (`$ORIGIN`
sections of host records, blank-owner AAAA lines, comments, TXT, a serial tag at the top)
and holds the record in its last section. Each size runs in a child process of its own, so
its peak resident memory (ru_maxrss) is the prepare's. Linear means the time per megabyte
stays flat from the small size to the large one.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_zone import _HEAD, _TAIL
from benchmarks.run import Figure

PATH = "templates/wikimediacloud.org"
FQDN = "openstack.eqiad1.wikimediacloud.org"
SIZES_MB = (13, 54)
"""Megabytes of template: the issue's 54 MB zone and a quarter of it."""
TARGET_SECONDS = 10.0
_GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org"]

_SECTION = """
$ORIGIN s{n}.wikimediacloud.org.
; section {n}: hosts of row {a}
host{n}a   1H  IN A     10.{a}.{b}.1
host{n}a   1H  IN AAAA  2620:0:861:{a}::1
host{n}b   1H  IN A     10.{a}.{b}.2 ; a comment
host{n}c       IN CNAME host{n}a
openstack  5M  IN CNAME  cloudcontrol{n}.wikimedia.org.
txt{n}     5M  IN TXT   "v=spf1 -all; ( not a paren )"
"""


def make_zone(megabytes: int) -> str:
    """Return a template of about `megabytes` MB with the record in its last section."""
    size = len(_SECTION.format(n=50000, a=1, b=1))
    parts = [_HEAD]
    for n in range(megabytes * 1_000_000 // size):
        parts.append(_SECTION.format(n=n, a=n % 250, b=(n // 250) % 250))
    parts.append(_TAIL)
    return "".join(parts)


def child(repo: Path) -> None:
    """Run the prepare's steps on `repo` and print their timings as JSON (in the child)."""
    from failover.zone import edit_record, read_zone, validate_zone, write_atomic, zone_name

    times: dict[str, float] = {}
    cpu = time.process_time()

    def step(name: str, start: float) -> float:
        now = time.perf_counter()
        times[name] = now - start
        return now

    t = time.perf_counter()
    wt = repo.parent / "wt"
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", "--detach", str(wt)],
                   check=True, timeout=300)
    t = step("worktree", t)
    text = read_zone(wt / PATH)
    t = step("read", t)
    edit = edit_record(text, FQDN, "cloudcontrol1003.wikimedia.org.", path=PATH)
    t = step("edit + diff", t)
    validate_zone(edit.new_text, path=PATH, zone=zone_name(PATH), checkout=wt)
    t = step("validate", t)
    write_atomic(wt / PATH, edit.new_text)
    t = step("write", t)
    subprocess.run([*_GIT, "-C", str(wt), "commit", "-qam", "fail over"], check=True,
                   timeout=300)
    step("commit", t)
    times["cpu"] = time.process_time() - cpu  # this process only (not git, not gdnsd)
    times["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(times))


def measure(megabytes: int) -> tuple[float, dict[str, float]]:
    """Return (actual MB, the child's timings and peak memory) for one size."""
    tmp = Path(tempfile.mkdtemp(prefix="fo-bench-prep-", dir="/tmp"))
    try:
        repo = tmp / "dns"
        (repo / "templates").mkdir(parents=True)
        text = make_zone(megabytes)
        (repo / PATH).write_text(text)
        subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
        subprocess.run([*_GIT, "-C", str(repo), "add", "-A"], check=True, timeout=300)
        subprocess.run([*_GIT, "-C", str(repo), "commit", "-qm", "zone"], check=True,
                       timeout=300)
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                               str(repo)], check=False, capture_output=True, text=True,
                              timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"the prepare failed: {proc.stderr[-2000:]}")
        return len(text) / 1e6, json.loads(proc.stdout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run() -> list[Figure]:
    """Return per-size figures: total prepare time, steps, peak memory, time per MB."""
    figures: list[Figure] = []
    per_mb: list[float] = []
    for megabytes in SIZES_MB:
        size, t = measure(megabytes)
        total = sum(v for k, v in t.items() if k not in ("rss_mb", "cpu"))
        per_mb.append(total / size)
        last = megabytes == SIZES_MB[-1]
        figures.append(Figure(f"prepare, {size:.0f} MB zone", f"{total:.1f} s",
                              f"< {TARGET_SECONDS:g} s" if last else "",
                              total < TARGET_SECONDS if last else None))
        steps = ", ".join(f"{k} {v:.2f}" for k, v in t.items() if k != "rss_mb")
        figures.append(Figure(f"  steps (s), {size:.0f} MB", steps))
        figures.append(Figure(f"  peak memory, {size:.0f} MB zone",
                              f"{t['rss_mb']:.0f} MB ({t['rss_mb'] / size:.1f}x the file)"))
    figures.append(Figure("prepare time per MB, small -> large",
                          f"{per_mb[0]:.3f} -> {per_mb[-1]:.3f} s/MB", "flat (linear)"))
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]))
    else:
        for fig in run():
            print(f"{fig.name}: {fig.value} {fig.target} {fig.met if fig.met is not None else ''}")
