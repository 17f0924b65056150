"""A command health's detail in the commit message: the plugin's verdict, not its figures."""

from __future__ import annotations

import pytest

from failover.health.command import command_verdict


@pytest.mark.parametrize(("detail", "verdict"), [
    ("exit 0: TCP OK - 0.000 second response time on 127.0.0.1 port 6667|time=0.000105s;;;"
     "0.000000;10.000000", "exit 0: TCP OK"),
    ("exit 0: HTTP OK: HTTP/1.1 200 OK - 453 bytes in 0.001 second response time |time=0.0s",
     "exit 0: HTTP OK"),
    ("exit 2: CRITICAL - Socket timeout after 10 seconds", "exit 2: CRITICAL"),
    ("exit 2: PROCS CRITICAL: 0 processes with command name 'ircd'", "exit 2: PROCS CRITICAL"),
    ("exit 1: connection refused|t=3", "exit 1: connection refused"),
    ("exit 0", "exit 0"),
    ("command not found: /usr/lib/nagios/plugins/check_x",
     "command not found: /usr/lib/nagios/plugins/check_x"),
])
def test_the_verdict_without_timing_figures(detail: str, verdict: str) -> None:
    assert command_verdict(detail) == verdict
