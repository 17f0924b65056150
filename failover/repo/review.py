"""What `.gitreview` says (Gerrit host, port, project, branch, remote), read as git-review
reads it."""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

from failover.errors import UsageError

DEFAULT_REMOTE = "gerrit"
"""git-review's remote when .gitreview names none (`git review -s` creates it)."""


@dataclass(frozen=True)
class GitReview:
    """What `.gitreview` says: Gerrit host and port, project, branch and remote name."""

    host: str
    port: int
    project: str
    branch: str
    remote: str

    @property
    def project_name(self) -> str:
        """Return the project without a `.git` suffix, as REST ids and URLs use it."""
        return self.project.removesuffix(".git")


def read_gitreview(checkout: Path) -> GitReview:
    """Return the checkout's `.gitreview`, read as git-review reads it (UsageError if unusable)."""
    path = checkout / ".gitreview"
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(), source=str(path))
    except FileNotFoundError:
        raise UsageError(f"{checkout} has no .gitreview",
                         hint="point [dns] checkout at a clone of operations/dns") from None
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not parser.has_section("gerrit"):
        raise UsageError(f"{path} has no [gerrit] section")
    sect = parser["gerrit"]
    missing = [k for k in ("host", "project") if not sect.get(k)]
    if missing:
        raise UsageError(f"{path}: [gerrit] lacks {', '.join(missing)}")
    try:
        port = int(sect.get("port", "29418"))
    except ValueError:
        raise UsageError(f"{path}: port {sect.get('port')!r} is not a number") from None
    return GitReview(host=sect["host"], port=port, project=sect["project"],
                     branch=sect.get("defaultbranch", "master"),
                     remote=sect.get("defaultremote", DEFAULT_REMOTE))
