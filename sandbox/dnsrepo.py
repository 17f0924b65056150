"""An operations/dns-shaped repository for the stand-in, and an operator's clone of it.

`seed_upstream` commits the upstream content (`.gitreview`, `templates/wikimediacloud.org`
shaped like production, `templates/wikimedia.org`, `utils/`) to the stand-in's `master`;
`clone_operator_checkout` clones it the way an SRE has it, with a Gerrit-style commit-msg hook.

Examples:
    >>> with start_gerrit(workdir) as gerrit:                            # doctest: +SKIP
    ...     seed_upstream(gerrit)
    ...     checkout = clone_operator_checkout(gerrit, workdir / "dns")
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.gerrit import GerritStandin, start_gerrit

GIT_TIMEOUT = 30.0
"""Seconds any git command run here may take."""
ZONE_PATH = "templates/wikimediacloud.org"
"""Where the zone template lives in operations/dns."""
SANDBOX_IDENT = ("Sandbox Upstream", "upstream@sandbox.invalid")
"""Who wrote the upstream commit."""
SEED_DATES = {"GIT_AUTHOR_DATE": "2025-01-06T10:00:00Z",
              "GIT_COMMITTER_DATE": "2025-01-06T10:00:00Z"}
"""The seed commit is old: a promote's `[safety] flap_window` does not see it (issue 24)."""

COMMIT_MSG_HOOK = """#!/bin/sh
# Adds a Change-Id footer the way Gerrit's commit-msg hook does, unless one is there.
# (sandbox equivalent, written for failover's tests: same inputs, same trailer handling)
set -u
msg="$1"
test "$(git config --bool --get gerrit.createChangeId)" = "false" && exit 0
head -n1 "$msg" | grep -q '^squash! ' && exit 0
parent=$(git rev-parse --verify HEAD 2>/dev/null || git hash-object -t tree /dev/null)
id=$({ git var GIT_COMMITTER_IDENT; echo "$parent"; cat "$msg"; } | git hash-object --stdin)
out="$msg.changeid.$$"
git stripspace --strip-comments < "$msg" > "$out" || exit 1
test -s "$out" || { rm -f "$out"; echo "empty commit message" >&2; exit 1; }
git -c trailer.ifexists=doNothing interpret-trailers --trailer "Change-Id: I$id" \\
    < "$msg" > "$out" && mv "$out" "$msg"
"""
"""A commit-msg hook equivalent to Gerrit's (Change-Id from committer, parent and message)."""


@dataclass(frozen=True)
class RegionRecord:
    """One region's API record in the zone template."""

    region: str
    target: str
    rtype: str = "CNAME"
    owner: str = "openstack"
    ttl: str = "5M"


DEFAULT_RECORDS = (
    RegionRecord("eqiad1", "cloudcontrol1003.wikimedia.org."),
    RegionRecord("codfw1dev", "cloudcontrol2001-dev.wikimedia.org."),
)
"""The records as production had them."""


TEMPLATE_HEAD = (
    "; vim: set expandtab:smarttab",
    "; {{ serial_comment }}",
    "$TTL 1H",
    "@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. {{ serial_num }} 12H 2H 2W 1H",
    "",
)
"""The first lines of every sandbox template, as production's templates begin."""


def zone_template(records: tuple[RegionRecord, ...] = DEFAULT_RECORDS) -> str:
    """Return a templates/wikimediacloud.org shaped like production's, with `records`."""
    lines = [
        *TEMPLATE_HEAD,
        "; Name servers",
        "@           1D  IN NS   ns0.wikimedia.org.",
        "@           1D  IN NS   ns1.wikimedia.org.",
        "@           1D  IN NS   ns2.wikimedia.org.",
        "",
    ]
    for r in records:
        lines += [
            f"$ORIGIN {r.region}.wikimediacloud.org.",
            "",
            "; Service aliases",
            "; Primary openstack endpoint API used by openstack clients and endpoint catalog",
            f"{r.owner}  {r.ttl}  IN {r.rtype}  {r.target}",
            "",
        ]
    return "\n".join(lines)


WIKIMEDIA_PATH = "templates/wikimedia.org"
"""The template of wikimedia.org: the hosts' names, and the `irc` service record."""
WIKIMEDIA_HOSTS = ("cloudcontrol1003", "cloudcontrol1004", "cloudcontrol2001-dev",
                   "cloudcontrol2004-dev", "irc1001", "irc1002")
"""The hosts the sandbox's wikimedia.org names (all at 127.0.0.1, as the sandbox runs them):
every target the sandbox's records and configs use resolves (a dangling one is refused)."""


def wikimedia_template(hosts: tuple[str, ...] = WIKIMEDIA_HOSTS, irc: str = "irc1001") -> str:
    """Return a templates/wikimedia.org shaped like production's: hosts, then the `irc`
    record, its target written relative to the $ORIGIN (`irc  5M  IN CNAME    irc2003`)."""
    lines = [
        *TEMPLATE_HEAD,
        "@           1D  IN NS   ns0.wikimedia.org.",
        "@           1D  IN NS   ns1.wikimedia.org.",
        "ns0         1H  IN A    127.0.0.1",
        "ns1         1H  IN A    127.0.0.1",
        "",
    ]
    lines += [f"{h:<16} 1H  IN A     127.0.0.1" for h in hosts]
    lines += ["", "; IRC recent changes feed (irc.wikimedia.org)",
              f"irc              5M  IN CNAME    {irc}", ""]
    return "\n".join(lines)


WMNET_PATH = "templates/wmnet"
"""The template of wmnet: the DB sections' master aliases under each datacenter's $ORIGIN."""
DB_MASTERS = {"s1": ("db1163", "db2203"), "s4": ("db1160", "db2179")}
"""Each section's master alias and its (eqiad, codfw) hosts: production's shape, two only."""
M1_PROXIES = ("dbproxy1024", "dbproxy1022")
"""m1-master's candidates (eqiad's two proxies); the alias starts on the first."""


def wmnet_template(side: int = 0, m1: str = M1_PROXIES[0]) -> str:
    """Return a templates/wmnet shaped like production's: the hosts, then under both
    `$ORIGIN eqiad.wmnet.` and `$ORIGIN codfw.wmnet.` every sN-master alias pointing at the
    master of datacenter `side` (0 eqiad, 1 codfw); `m1-master` (eqiad only) at `m1`."""
    dcs = ("eqiad", "codfw")
    hosts = {"eqiad": [h[0] for h in DB_MASTERS.values()] + list(M1_PROXIES),
             "codfw": [h[1] for h in DB_MASTERS.values()]}
    lines = [*TEMPLATE_HEAD, "@           1D  IN NS   ns0.wikimedia.org.",
             "@           1D  IN NS   ns1.wikimedia.org.", ""]
    for dc in dcs:
        lines += [f"$ORIGIN {dc}.wmnet.", ""]
        lines += [f"{h:<16} 1H  IN A     127.0.0.1" for h in hosts[dc]]
        lines += ["", "; DB masters"]
        lines += [f"{s}-master        5M  IN CNAME  {pair[side]}.{dcs[side]}.wmnet."
                  for s, pair in DB_MASTERS.items()]
        if dc == "eqiad":
            lines.append(f"m1-master        5M  IN CNAME  {m1}.eqiad.wmnet.")
        lines.append("")
    return "\n".join(lines)


def gitreview_text(port: int, project: str = "operations/dns") -> str:
    """Return the .gitreview of the sandbox repository (host 127.0.0.1, `port`: Gerrit's SSH)."""
    return (f"[gerrit]\nhost=127.0.0.1\nport={port}\nproject={project}.git\n"
            "defaultbranch=master\ndefaultremote=origin\n")


def _git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    env_ident = ["-c", f"user.name={SANDBOX_IDENT[0]}", "-c", f"user.email={SANDBOX_IDENT[1]}"]
    done = subprocess.run(["git", *env_ident, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=GIT_TIMEOUT, check=True,
                          env={**os.environ, **env} if env else None)
    return done.stdout.strip()


def seed_upstream(gerrit: GerritStandin, records: tuple[RegionRecord, ...] = DEFAULT_RECORDS,
                  *, branch: str = "master") -> str:
    """Commit the operations/dns content to the stand-in's `branch`; return the commit id."""
    with tempfile.TemporaryDirectory(prefix="fo-seed-", dir="/tmp") as tmp:
        work = Path(tmp) / "dns"
        _git("init", "--quiet", "-b", branch, str(work))
        files = {
            ".gitreview": gitreview_text(gerrit.ssh_port or gerrit.port, gerrit.project),
            ZONE_PATH: zone_template(records),
            WIKIMEDIA_PATH: wikimedia_template(),
            "utils/gen-zones.py": "# renders templates/ into zone files (stand-in)\n",
            "utils/deploy-check.py": "# renders, lints, runs gdnsd checkconf (stand-in)\n",
        }
        for name, text in files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(text)
        _git("add", "-A", cwd=work)
        _git("commit", "--quiet", "--no-verify", "-m", "Initial operations/dns content",
             cwd=work, env=SEED_DATES)
        _git("push", "--quiet", gerrit.git_url, f"HEAD:refs/heads/{branch}", cwd=work)
        return _git("rev-parse", "HEAD", cwd=work)


def clone_operator_checkout(gerrit: GerritStandin, dest: Path, *, remote: str = "origin",
                            commit_msg_hook: bool = True,
                            ident: tuple[str, str] = ("Ops Person", "ops@example.org")) -> Path:
    """Clone the stand-in's repository to `dest` as an operator has it; return `dest`.

    When the stand-in serves SSH, the clone is of `ssh://USER@127.0.0.1:PORT/operations/dns`
    (as production's from port 29418), with `core.sshCommand` naming the stand-in's own key
    and known host: the operator's ~/.ssh is never read or written.
    """
    if gerrit.sshd is not None:
        _git("clone", "--quiet", "--origin", remote, "--config",
             f"core.sshCommand={gerrit.ssh_command}", gerrit.ssh_url, str(dest),
             env={"GIT_SSH_COMMAND": gerrit.ssh_command})
    else:
        _git("clone", "--quiet", "--origin", remote, gerrit.git_url, str(dest))
    _git("config", "user.name", ident[0], cwd=dest)
    _git("config", "user.email", ident[1], cwd=dest)
    if commit_msg_hook:
        hook = dest / ".git" / "hooks" / "commit-msg"
        hook.write_text(COMMIT_MSG_HOOK)
        hook.chmod(0o755)
    return dest


def push_upstream_edit(gerrit: GerritStandin, path: str, text: str, *,
                       message: str = "Unrelated upstream edit", branch: str = "master") -> str:
    """Commit a change of one file straight to the upstream branch; return the commit id."""
    with tempfile.TemporaryDirectory(prefix="fo-up-", dir="/tmp") as tmp:
        work = Path(tmp) / "dns"
        _git("clone", "--quiet", "--branch", branch, gerrit.git_url, str(work))
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
        _git("add", "-A", cwd=work)
        _git("commit", "--quiet", "--no-verify", "-m", message, cwd=work)
        _git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
        return _git("rev-parse", "HEAD", cwd=work)


@dataclass(frozen=True)
class DnsSandbox:
    """A running stand-in holding operations/dns, and an operator's checkout of it."""

    gerrit: GerritStandin
    checkout: Path
    seeded: dict[str, str] = field(default_factory=dict)
    """The stand-in's refs once seeded (what `reset` brings back)."""
    pristine: Path | None = None
    """A copy of the operator's checkout as first cloned (what `reset` brings back)."""

    def reset(self) -> None:
        """Bring the stand-in back to its seeded repository (no change) and the operator's
        checkout back to its first clone: much cheaper than a new stand-in and its sshd."""
        self.gerrit.reset(self.seeded)
        shutil.rmtree(self.checkout)
        if self.pristine is None:
            clone_operator_checkout(self.gerrit, self.checkout)
            return
        shutil.copytree(self.pristine, self.checkout, symlinks=True)
        # the copies are new files to git's index (inode, ctime): refresh it now, so that a
        # test's snapshot of the index is not rewritten by the tool's first `git status`
        _git("update-index", "-q", "--refresh", cwd=self.checkout)


@contextmanager
def dns_sandbox(workdir: Path | None = None,
                records: tuple[RegionRecord, ...] = DEFAULT_RECORDS,
                **gerrit_options: Any) -> Iterator[DnsSandbox]:
    """Yield a seeded stand-in and an operator checkout under `workdir`; stop it afterwards.

    Without `workdir`, a short temp directory under /tmp is made and removed afterwards.
    """
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="fo-dns-", dir="/tmp")) if workdir is None else workdir
    try:
        with start_gerrit(root, **gerrit_options) as gerrit:
            seed_upstream(gerrit, records)
            checkout = clone_operator_checkout(gerrit, root / "dns")
            pristine = root / "dns.pristine"
            shutil.copytree(checkout, pristine, symlinks=True)
            yield DnsSandbox(gerrit, checkout, gerrit.refs(), pristine)
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
