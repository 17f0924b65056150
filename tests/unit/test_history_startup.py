"""`failover history NAME --json` imports the history's modules only: not the rest of the
repo and zone packages (commit, push, worktree; the editor, the checker and gdnsd's options),
nor Rich's console (JSON is written without it). Run for real, in a fresh process, on a git
repository built here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_NEEDED = ("rich.console", "failover.repo.commit", "failover.repo.push",
              "failover.repo.worktree", "failover.zone.edit", "failover.zone.check",
              "failover.zone.gdnsd")
RUN = ("import atexit, json, sys\n"
       "atexit.register(lambda: print(json.dumps(sorted(m for m in {watched!r} "
       "if m in sys.modules)), file=open({out!r}, 'w')))\n"
       "sys.argv = ['failover', *sys.argv[1:]]\n"
       "from failover.cli import main\n"
       "main()\n")
CONFIG = """
[dns]
checkout = "{checkout}"
zone_file = "templates/wikimedia.org"
[services.irc]
fqdn = "irc.wikimedia.org"
[services.irc.candidates.irc1003]
target = "irc1003.wikimedia.org."
[services.irc.candidates.irc2003]
target = "irc2003.wikimedia.org."
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=H", "-c", "user.email=h@example.org", *args],
                   cwd=repo, check=True, timeout=30, capture_output=True)


def test_history_json_imports_only_the_history(tmp_path: Path) -> None:
    repo = tmp_path / "dns"
    subprocess.run(["git", "init", "-q", "-b", "master", str(repo)], check=True, timeout=30)
    (repo / "templates").mkdir()
    (repo / ".gitreview").write_text("[gerrit]\nhost=gerrit.example.org\n"
                                     "project=operations/dns.git\ndefaultbranch=master\n")
    for target in ("irc1003", "irc2003"):
        (repo / "templates/wikimedia.org").write_text(
            f"$ORIGIN wikimedia.org.\nirc 5M IN CNAME {target}\n")
        git(repo, "add", ".")
        git(repo, "commit", "-qm", f"irc to {target}")
    git(repo, "remote", "add", "origin", str(tmp_path / "nowhere"))
    git(repo, "update-ref", "refs/remotes/origin/master", "HEAD")
    config, out = tmp_path / "config.toml", tmp_path / "imported.json"
    config.write_text(CONFIG.format(checkout=repo))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-c", RUN.format(watched=NOT_NEEDED, out=str(out)),
                           "history", "irc", "--json", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert [c["to"] for c in json.loads(done.stdout)["changes"]] == ["irc2003", "irc1003"]
    assert json.loads(out.read_text()) == []
