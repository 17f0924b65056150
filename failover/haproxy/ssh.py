"""Read HAProxy's stats through SSH, where the stats listen on the controller's loopback only.

Two URL forms (a controller's `stats` key):

- `ssh://[user@]host[:port]/run/haproxy/haproxy.sock`: the stats socket, asked for
  `show info;show stat` through `[haproxy] ssh_command` run on the controller (default
  `socat unix-connect:{socket} stdio`: production's socket is `mode 666 level user`, no sudo
  needed); the commands go on its stdin.
- `ssh://[user@]host[:port]?url=http://127.0.0.1:9900/stats;csv`: the HTTP stats page, read by
  `curl` on the controller.

`ssh` runs from an argv list (never a local shell) with `BatchMode=yes` (it never prompts) and
`ConnectTimeout`, using the operator's own ssh config and agent, or `ssh -F [haproxy] ssh_config`.
The remote side runs its login shell on the command line, so every word is `shlex.quote`d.

Examples:
    >>> parse_ssh_url("ssh://admin@cloudcontrol1004.wikimedia.org/run/haproxy/haproxy.sock")
    SshTarget(host='cloudcontrol1004.wikimedia.org', user='admin', port=None, socket='/run/haproxy/haproxy.sock', url=None)
    >>> remote_command(parse_ssh_url("ssh://h/run/haproxy/haproxy.sock"), HaproxyConfig())
    'socat unix-connect:/run/haproxy/haproxy.sock stdio'
"""  # noqa: E501

from __future__ import annotations

import math
import os
import re
import shlex
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from failover import proc
from failover.config import Controller, HaproxyConfig
from failover.haproxy.judge import parse_show_info
from failover.haproxy.model import StatsReadError

SSH = "ssh"
"""The ssh client, found on PATH (Debian package openssh-client)."""

SOCKET_COMMANDS = "show info;show stat\n"
"""What the stats socket is asked, in one connection (HAProxy runs `;`-separated commands)."""

@dataclass(frozen=True)
class SshTarget:
    """Where an `ssh://` stats URL leads: the host to log in to and what to read there."""

    host: str
    user: str | None
    port: int | None
    socket: str | None
    url: str | None

    @property
    def where(self) -> str:
        """Return `user@host:port` as far as given, for messages."""
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{user}{self.host}{port}"


def parse_ssh_url(url: str) -> SshTarget:
    """Return the SshTarget of an `ssh://` stats URL.

    Raises:
        StatsReadError: no host, a password in the URL, or neither (or both) a socket path
            and a `?url=` query.
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise StatsReadError(f"{url!r}: the port is not a number in 1-65535") from None
    if parts.scheme != "ssh" or not parts.hostname:
        raise StatsReadError(f"{url!r} is not an ssh://[user@]host[:port]/socket URL")
    if parts.password is not None:
        raise StatsReadError("an ssh:// stats URL must not carry a password: ssh uses keys "
                             "(your agent or ssh config)")
    path = unquote(parts.path)
    remote_url = parse_qs(parts.query).get("url", [None])[0]
    has_socket = path not in ("", "/")
    if has_socket == (remote_url is not None):
        raise StatsReadError(f"{url!r}: give either a socket path (ssh://host/run/haproxy/"
                             "haproxy.sock) or ?url=http://127.0.0.1:9900/stats;csv")
    if remote_url is not None and urlsplit(remote_url).scheme not in ("http", "https"):
        raise StatsReadError(f"{url!r}: the ?url= must be an http(s) URL")
    return SshTarget(host=parts.hostname, user=unquote(parts.username) if parts.username else None,
                     port=port, socket=path if has_socket else None, url=remote_url)


def remote_command(target: SshTarget, haproxy_cfg: HaproxyConfig) -> str:
    """Return the command line the controller's shell runs, every word quoted."""
    if target.socket is not None:
        words = [w.replace("{socket}", target.socket) for w in haproxy_cfg.ssh_command]
    else:
        assert target.url is not None
        words = ["curl", "--silent", "--show-error", "--fail", "--max-time",
                 f"{haproxy_cfg.timeout:g}", target.url]
    return " ".join(shlex.quote(w) for w in words)


def ssh_argv(target: SshTarget, haproxy_cfg: HaproxyConfig) -> list[str]:
    """Return the full `ssh` argv: options, `--`, the host, the quoted remote command."""
    argv = [SSH]
    if haproxy_cfg.ssh_config:
        argv += ["-F", os.path.expanduser(haproxy_cfg.ssh_config)]
    argv += ["-T", "-o", "BatchMode=yes",
             "-o", f"ConnectTimeout={max(1, math.ceil(haproxy_cfg.connect_timeout))}"]
    if target.port:
        argv += ["-p", str(target.port)]
    if target.user:
        argv += ["-l", target.user]
    return [*argv, "--", target.host, remote_command(target, haproxy_cfg)]


def read_ssh_stats(controller: Controller, haproxy_cfg: HaproxyConfig) -> tuple[dict[str, str],
                                                                                 str]:
    """Return (`show info` fields, `show stat` CSV) of a controller read through SSH.

    Through the remote curl there is no `show info`: the fields are then empty.

    Raises:
        StatsReadError: ssh or the remote command failed or timed out; the message says why
            (host key, permission denied, sudo password, program missing, socket, ...).
    """
    target = parse_ssh_url(controller.stats)
    argv = ssh_argv(target, haproxy_cfg)
    stdin = SOCKET_COMMANDS if target.socket is not None else ""
    limit = haproxy_cfg.connect_timeout + haproxy_cfg.timeout
    code, out, err = run_bounded(argv, stdin, limit, target)
    if len(out) > haproxy_cfg.max_bytes:
        raise StatsReadError(f"answer larger than {haproxy_cfg.max_bytes} bytes")
    if code != 0:
        raise StatsReadError(failure_reason(target, code, err, haproxy_cfg))
    if target.socket is None:
        return {}, out
    head, mark, csv_text = out.partition("# pxname")
    info = parse_show_info(head)
    if info.get("Name") != "HAProxy":
        raise StatsReadError(f"{target.socket} on {target.host} is not HAProxy's stats socket "
                             "(no 'Name: HAProxy' in its answer to 'show info')")
    return info, mark + csv_text


def run_bounded(argv: list[str], stdin: str, limit: float,
                target: SshTarget) -> tuple[int, str, str]:
    """Return (exit code, stdout, stderr) of `argv`; killed with its group after `limit` s.

    Raises:
        StatsReadError: ssh is not installed, or it did not finish within `limit` seconds.
    """
    env = {**os.environ, "LC_ALL": "C"}  # English messages, also from the remote sudo
    try:
        done = proc.run(argv, stdin=stdin, env=env, timeout=limit, session=True)
    except FileNotFoundError:
        raise StatsReadError(f"{argv[0]} not found: install openssh-client") from None
    if done.code is None:  # its own session, killed: ssh and any ProxyCommand
        raise StatsReadError(f"ssh {target.where}: no answer after {limit:g}s "
                             "(ssh killed)") from None
    return done.code, done.stdout, done.stderr


_MISSING = re.compile(r"([\w./+-]+): (?:command )?not found")


def failure_reason(target: SshTarget, code: int, stderr: str, haproxy_cfg: HaproxyConfig) -> str:
    """Return the one-line reason for a failed ssh run, from its exit code and stderr."""
    text = stderr.lower()
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    last = lines[-1][:200] if lines else "no message"
    ssh = f"ssh {target.where}"
    if code == 255:
        return _ssh_reason(ssh, target, text, last)
    if "a password is required" in text or "a terminal is required" in text \
            or "no tty present" in text:
        return (f"sudo on {target.host} needs a password: allow the command without one "
                "(NOPASSWD in sudoers) or change [haproxy] ssh_command")
    if "not in the sudoers" in text or "not allowed to execute" in text:
        return f"sudo on {target.host} refuses the command: {last}"
    missing = _MISSING.search(stderr)
    if code == 127 or missing:
        program = missing.group(1) if missing else "the remote command"
        fix = ("install curl there" if target.url else
               "install socat there (apt install socat) or change [haproxy] ssh_command")
        return f"{program} not found on {target.host}: {fix}"
    if target.url is not None:
        return _curl_reason(target, code, last)
    sock = f"socket {target.socket} on {target.host}"
    if "no such file or directory" in text:
        return f"{sock} does not exist"
    if "connection refused" in text:
        return f"nothing listens on {sock} (connection refused)"
    if "permission denied" in text:
        return f"permission denied on {sock}: run socat with sudo in [haproxy] ssh_command"
    command = " ".join(haproxy_cfg.ssh_command)
    return f"`{command}` failed on {target.host} (exit {code}): {last}"


def _ssh_reason(ssh: str, target: SshTarget, text: str, last: str) -> str:
    if "remote host identification has changed" in text:
        return (f"{ssh}: the host key has CHANGED (reinstalled host, or someone in between): "
                f"check it, then `ssh-keygen -R {target.host}`")
    if "host key verification failed" in text or "host key is known" in text:
        return (f"{ssh}: host key unknown: run `ssh {target.host}` once to check and accept "
                "it (BatchMode never asks)")
    if "permission denied" in text:
        return (f"{ssh}: permission denied (publickey): is your key in the agent "
                "(`ssh-add -l`) and allowed for this user?")
    if "connection refused" in text:
        return f"{ssh}: connection refused (no sshd on port {target.port or 22})"
    if "timed out" in text:
        return f"{ssh}: timeout connecting"
    if "could not resolve hostname" in text:
        return f"{ssh}: host name does not resolve"
    if "no route to host" in text or "network is unreachable" in text:
        return f"{ssh}: no route to host"
    return f"{ssh} failed: {last}"


def _curl_reason(target: SshTarget, code: int, last: str) -> str:
    where = f"{target.url} (curl on {target.host})"
    if code == 7:
        return f"connection refused: {where}"
    if code == 28:
        return f"timeout: {where}"
    if code == 22:
        return f"HTTP error from {where}: {last.removeprefix('curl: (22) ')}"
    return f"curl failed (exit {code}) on {where}: {last}"
