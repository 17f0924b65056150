"""The sandbox's `authdns-update`: deploy the merged zone template to the sandbox gdnsd servers.

Like production's, it shows what changes, asks "Merge these changes? (yes/no)?" (unless
--yes), then renders the template from the repository's branch, writes it where each gdnsd
reads its zone, and runs `gdnsdctl reload-zones`. Every template of `templates/` is deployed
(as production's does); `--zone` names the one whose changes are shown first.

    python3 sandbox/authdns_update.py --repo GITDIR --branch master \
        --zone templates/wikimediacloud.org --gdnsd DIR [--gdnsd DIR ...] [--yes] [--delay S]

`--delay`: seconds between two hosts, so the hosts converge one after another (production's
reaches them over SSH one by one), and the tests see it.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __name__ == "__main__":  # run as a file (the deploy command): import from the repository root
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from failover.zone import render_template, zone_name

TIMEOUT = 30.0
"""Seconds each git or gdnsdctl call may take."""


def merged_template(repo: str, branch: str, path: str) -> str:
    """Return the template's text on `branch` of the (bare) repository `repo`."""
    done = subprocess.run(["git", "--git-dir", repo, "show", f"refs/heads/{branch}:{path}"],
                          capture_output=True, text=True, errors="surrogateescape",
                          timeout=TIMEOUT, check=True)
    return done.stdout


def templates(repo: str, branch: str) -> list[str]:
    """Return every zone template on `branch` (`templates/*`), as production deploys them."""
    done = subprocess.run(["git", "--git-dir", repo, "ls-tree", "--name-only",
                           f"refs/heads/{branch}", "templates/"], capture_output=True,
                          text=True, timeout=TIMEOUT, check=True)
    return [p for p in done.stdout.splitlines() if p.strip()]


SERIAL_COMMENT = re.compile(r"^; \d+ ")
"""The `; {{ serial_comment }}` line of a rendered template (`; 1796656911 Unknown/...`)."""


def _unserialed(text: str) -> list[str]:
    """Return the lines of a rendered zone without those the serial changes (its comment
    and the SOA record)."""
    return [ln for ln in text.splitlines() if not SERIAL_COMMENT.match(ln) and "SOA" not in ln]


def deploy(repo: str, branch: str, path: str, gdnsd_dirs: list[Path], *, yes: bool,
           delay: float = 0.0) -> int:
    """Render and install every zone on every gdnsd directory (`path` shown first); return the
    exit code."""
    paths = [path, *(p for p in templates(repo, branch) if p != path)]
    rendered: dict[str, str] = {}
    shown: list[str] = []
    for one in paths:
        zone = zone_name(one)
        rendered[zone] = render_template(merged_template(repo, branch, one),
                                         serial=int(time.time()))
        served = gdnsd_dirs[0] / "zones" / zone
        old = served.read_text(errors="surrogateescape") if served.exists() else ""
        # the serial changes at every render: a zone whose only change it is shows nothing
        shown += [ln for ln in difflib.unified_diff(_unserialed(old), _unserialed(rendered[zone]),
                                                    f"served/{zone}", f"merged/{zone}",
                                                    lineterm="")
                  if not ln.startswith(("---", "+++")) and "SOA" not in ln]
    text = "\n".join(shown) or "(no changes besides the serial)"
    print(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    if not yes:
        print("Merge these changes? (yes/no)? ", end="", flush=True)
        if sys.stdin.readline().strip() != "yes":
            print("Aborting.")
            return 1
    for index, directory in enumerate(gdnsd_dirs):
        if index and delay > 0:
            time.sleep(delay)
        for zone, content in rendered.items():
            target = directory / "zones" / zone
            tmp = target.with_name(f".{zone}.tmp")
            tmp.write_text(content, errors="surrogateescape")  # bytes not UTF-8 kept
            os.replace(tmp, target)
        subprocess.run(["gdnsdctl", "-c", str(directory), "reload-zones"], check=True,
                       timeout=TIMEOUT, capture_output=True)
        print(f"reloaded {directory.name}: OK", flush=True)
    return 0


def arguments(prog: str, zone: str) -> argparse.ArgumentParser:
    """Return the parser of authdns-update's arguments (`--zone` defaulting to `zone`), shared
    with the real repository's deploy command (`sandbox.realrepo.deploy_main`)."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--branch", default="master")
    parser.add_argument("--zone", default=zone)
    parser.add_argument("--gdnsd", action="append", type=Path, required=True)
    parser.add_argument("--yes", action="store_true")
    return parser


def reported(run: Callable[[], int]) -> int:
    """Return `run()`'s exit code; a failed gdnsdctl, a timeout or a file error is printed
    as production's one line, exit 1."""
    try:
        return run()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        print(f"authdns-update: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and deploy."""
    parser = arguments("authdns-update (sandbox)", "templates/wikimediacloud.org")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    return reported(lambda: deploy(args.repo, args.branch, args.zone, args.gdnsd,
                                   yes=args.yes, delay=args.delay))


if __name__ == "__main__":
    sys.exit(main())
