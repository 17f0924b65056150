"""`failover check --path NAME`: is the path of a failover open, before it is needed?

Every system a promote of NAME goes through is asked at the same time, each within the
check's `--timeout`: Gerrit's REST credentials (an authenticated GET of `/a/accounts/self`;
anonymous `/config/server/version` when none are configured), the remote (`git ls-remote` of
the review branch), the deploy host (`[dns] deploy_probe`, else `ssh -o BatchMode=yes HOST
true` derived from a deploy command that starts with ssh), the SAL relay (a TCP connect),
Alertmanager (`/-/ready`), and every candidate's health source (HAProxy stats, or the
service's health check). OK when all answer; WARNING naming each one that does not (an
expired token is found at the next check, not in the emergency); UNKNOWN for a config error.

Examples:
    >>> result = check_path(cfg, "eqiad1", timeout=10)                    # doctest: +SKIP
    >>> result.name, result.message
    ('WARNING', 'path of eqiad1 broken: Gerrit REST: Gerrit refused the credentials (401) ...')
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

from failover.check import in_background
from failover.check_judge import OK, WARNING, CheckResult, PerfDatum

if TYPE_CHECKING:
    from failover.config import Candidate, Config, Controller

PROBE_SHARE = 0.8
"""Share of the check's budget one probe's own timeout may take."""

SSH_OPTIONS_WITH_VALUE = frozenset("BbcDEeFIiJLlmOopQRSWw")
"""ssh's options that take a value (`-p 22`), kept when the deploy's host is probed."""


@dataclass(frozen=True)
class Probe:
    """One thing on the path: its label, and a call returning what is wrong (None: fine)."""

    label: str
    run: Callable[[], str | None]


def check_path(cfg: Config, name: str, *, timeout: float,
               deadline: float | None = None) -> CheckResult:
    """Return the plugin result for the path of NAME, all probes at once within `timeout`."""
    if deadline is None:
        deadline = time.monotonic() + timeout
    each = max(0.05, PROBE_SHARE * max(0.01, deadline - time.monotonic()))
    probes = path_probes(cfg, name, each)
    futures: dict[str, Future[str | None]] = {p.label: in_background(p.run) for p in probes}
    wait(list(futures.values()), timeout=max(0.0, deadline - time.monotonic()))
    problems: list[str] = []
    details: list[str] = []
    for label, f in futures.items():
        if not f.done():
            why: str | None = f"no answer within {timeout:g}s"
        elif (exc := f.exception()) is not None:
            why = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        else:
            why = f.result()
        details.append(f"{label}: {why or 'ok'}")
        if why:
            problems.append(f"{label}: {why}")
    perf = (PerfDatum("path_broken", len(problems), warn=1, minimum=0, maximum=len(probes)),)
    if problems:
        return CheckResult(WARNING, f"path of {name} broken: " + "; ".join(problems), perf,
                           tuple(details))
    return CheckResult(OK, f"path of {name} open: " + ", ".join(futures), perf,
                       tuple(details))


def path_probes(cfg: Config, name: str, timeout: float) -> list[Probe]:
    """Return the probes of NAME's path, each bounded by `timeout` seconds."""
    from failover.check import bounded_config

    bounded = bounded_config(cfg, timeout / PROBE_SHARE)
    probes = [Probe("Gerrit REST", lambda: gerrit_problem(cfg, timeout)),
              Probe("git remote", lambda: remote_problem(cfg, timeout))]
    if argv := deploy_probe_argv(cfg, timeout):
        probes.append(Probe("deploy host", lambda: command_problem(argv, timeout)))
    if (sal := cfg.sal) is not None:
        probes.append(Probe("SAL relay", lambda: tcp_problem(sal.host, sal.port, timeout)))
    if (am := cfg.alertmanager) is not None:
        probes.append(Probe("Alertmanager", lambda: ready_problem(am.url, am.ca_bundle,
                                                                   timeout)))
    return probes + candidate_probes(bounded, name)


def candidate_probes(cfg: Config, name: str) -> list[Probe]:
    """Return one probe per candidate: its health source answers (healthy or not, for
    HAProxy; a service's check is its answer)."""
    if (svc := cfg.service(name)) is not None:
        from failover.health import read_health

        def health(c: Candidate) -> Callable[[], str | None]:
            def run() -> str | None:
                r = read_health(cfg, c)
                return None if r.healthy else f"{r.checked}: {r.detail}"
            return run

        return [Probe(f"health of {c.name}", health(c)) for c in svc.candidates
                if c.health.kind != "none"]
    from failover.haproxy import read_controller_health

    region = cfg.region(name)

    def stats(c: Controller) -> Callable[[], str | None]:
        def run() -> str | None:
            h = read_controller_health(cfg, region, c)
            return None if h.reachable else f"HAProxy stats do not answer: {h.error}"
        return run

    return [Probe(f"health of {c.name}", stats(c)) for c in region.controllers]


def gerrit_problem(cfg: Config, timeout: float) -> str | None:
    """Return what is wrong with Gerrit's REST API and the credentials (None: they work)."""
    from failover.gerrit import GerritClient, credentials

    auth = credentials(cfg.gerrit.url)
    client = GerritClient(cfg.gerrit.url, auth=auth, timeout=timeout,
                          ca_bundle=cfg.gerrit.ca_bundle, retries=1)
    if auth is None:
        client.server_version()  # anonymous: at least the REST root answers
        return None
    client.whoami()
    return None


def remote_problem(cfg: Config, timeout: float) -> str | None:
    """Return what is wrong with `git ls-remote` of the review branch (None: it answers)."""
    from failover import proc
    from failover.history import review_remote
    from failover.repo.checkout import GIT_ENV

    remote, branch = review_remote(cfg.dns.checkout)
    # its own session: no terminal for ssh to ask a password or passphrase on
    done = proc.run(["git", "ls-remote", "--heads", remote, f"refs/heads/{branch}"],
                    cwd=cfg.dns.checkout, env={**os.environ, **GIT_ENV}, timeout=timeout,
                    session=True)
    if done.timed_out:
        return f"git ls-remote {remote} did not answer within {timeout:.1f}s"
    if done.code != 0:
        said = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        return f"git ls-remote {remote} failed: {said[-1] if said else f'exit {done.code}'}"
    if f"refs/heads/{branch}" not in done.stdout:
        return f"the remote {remote} has no branch {branch}"
    return None


def deploy_probe_argv(cfg: Config, timeout: float) -> tuple[str, ...]:
    """Return the command that shows the deploy host answers: `[dns] deploy_probe`, else
    `ssh -o BatchMode=yes [the deploy's ssh options] HOST true`; () when there is none."""
    if cfg.dns.deploy_probe:
        return cfg.dns.deploy_probe
    deploy = cfg.dns.deploy
    if not deploy or os.path.basename(deploy[0]) != "ssh":
        return ()
    options: list[str] = []
    rest = iter(deploy[1:])
    for word in rest:
        if word.startswith("-") and len(word) > 1:
            options.append(word)
            if len(word) == 2 and word[1] in SSH_OPTIONS_WITH_VALUE:
                options.append(next(rest, ""))
            continue
        return (deploy[0], "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, int(timeout))}",
                *options, word, "true")
    return ()


def command_problem(argv: Sequence[str], timeout: float) -> str | None:
    """Return how `argv` failed (None: it exited 0 within `timeout`)."""
    from failover import proc

    done = proc.run(list(argv), timeout=timeout, session=True)  # no terminal to ask on
    if done.timed_out:
        return f"`{' '.join(argv)}` did not end within {timeout:.1f}s"
    if done.code != 0:
        said = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        return f"`{' '.join(argv)}` exited {done.code}" + (f": {said[-1]}" if said else "")
    return None


def tcp_problem(host: str, port: int, timeout: float) -> str | None:
    """Return why a TCP connection to host:port failed (None: it was accepted)."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc.strerror or type(exc).__name__}"
    return None


def ready_problem(url: str, ca_bundle: str | None, timeout: float) -> str | None:
    """Return what is wrong with `<url>/-/ready` (None: it answered 200)."""
    from failover import httpget

    try:
        answer = httpget.get(f"{url}/-/ready", connect_timeout=timeout, timeout=timeout,
                             max_bytes=64 * 1024, ca_bundle=ca_bundle)
    except httpget.FetchError as exc:
        return f"{url}/-/ready: {exc.cause.__class__.__name__}: {exc.cause}"[:300]
    except (httpget.Overdue, httpget.TooLarge, ValueError) as exc:
        return f"{url}/-/ready: {type(exc).__name__}"
    return None if answer.status == 200 else f"{url}/-/ready answered HTTP {answer.status}"
