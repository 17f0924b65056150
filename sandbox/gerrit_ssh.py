"""What the Gerrit stand-in's sshd runs for every connection (its authorized_keys `command=`).

Gerrit's own SSH daemon (port 29418) serves `git-upload-pack`/`git-receive-pack` for a
project named by its path (`'/operations/dns'`, `operations/dns.git`, ...), the commit-msg
hook by `scp -f hooks/commit-msg` (what `git review --remote-hook` runs, `scp -O`), and
`gerrit version`. This program reads the client's command from SSH_ORIGINAL_COMMAND and does
the same against the stand-in's bare repository; anything else gets Gerrit's refusal.

Run as `python gerrit_ssh.py GIT_DIR PROJECT HOOK_FILE VERSION` (written by the stand-in).
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import IO

GIT_COMMANDS = ("git-upload-pack", "git-receive-pack")
"""The git services Gerrit's sshd runs for a project."""


def project_of(path: str) -> str:
    """Return the project a git path names: `'/operations/dns.git'` -> `operations/dns`."""
    return path.strip("/").removesuffix(".git").strip("/")


def scp_send(name: str, data: bytes, stdin: IO[bytes], stdout: IO[bytes]) -> int:
    """Speak the source side of the scp protocol for one file; return the exit code."""
    if stdin.read(1) != b"\0":
        return 1
    stdout.write(f"C0755 {len(data)} {name}\n".encode())
    stdout.flush()
    if stdin.read(1) != b"\0":
        return 1
    stdout.write(data + b"\0")
    stdout.flush()
    return 0 if stdin.read(1) == b"\0" else 1


def main(argv: list[str]) -> int:
    """Run the client's command against the stand-in; return the exit code."""
    git_dir, project, hook_file, version = argv
    try:
        words = shlex.split(os.environ.get("SSH_ORIGINAL_COMMAND", ""))
    except ValueError:
        words = []
    if len(words) == 2 and words[0] in GIT_COMMANDS:
        if project_of(words[1]) != project:
            print(f"fatal: Project not found: {project_of(words[1])}", file=sys.stderr)
            return 1
        os.execvp("git", ["git", words[0].removeprefix("git-"), git_dir])  # noqa: S606
    if words[:2] == ["scp", "-f"] and words[-1] in ("hooks/commit-msg", "/hooks/commit-msg"):
        return scp_send("commit-msg", Path(hook_file).read_bytes(), sys.stdin.buffer,
                        sys.stdout.buffer)
    if words == ["gerrit", "version"]:
        print(f"gerrit version {version}")
        return 0
    shown = words[0] if words else ""
    print(f"fatal: {shown}: not found" if shown else
          "fatal: Gerrit Code Review: interactive shells are disabled", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
