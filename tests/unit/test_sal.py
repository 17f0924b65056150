"""The SAL line's exact text, and a relay that is down (wmflib's handler, no traceback)."""

from __future__ import annotations

import socket

import pytest

from failover.alertmanager import parse_duration, parse_matcher
from failover.config import SalConfig
from failover.errors import UsageError
from failover.promote.plan import PromoteRequest
from failover.sal import sal_message, send_sal
from sandbox.sal import SalRelay


def test_messages() -> None:
    r = PromoteRequest("eqiad1", "cloudcontrol1004", bugs=("T12345",), reason="maint\nwindow")
    assert sal_message("START", r, project="admin") == (
        "admin START - failover promote eqiad1 cloudcontrol1004 (maint window) (T12345)")
    assert sal_message("END (FAIL)", PromoteRequest("eqiad1", "c4"), exit_code=4) == (
        "END (FAIL) - failover promote eqiad1 c4 (exit_code=4)")


def test_sent_as_one_line_and_a_down_relay_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with SalRelay() as relay:
        result = send_sal(SalConfig("127.0.0.1", relay.port), "admin START - x", user="bob")
        assert relay.wait_for(1) == [f"!log bob@{socket.gethostname()} admin START - x"]
    assert result.error is None and result.line == relay.lines[0]
    with SalRelay(mode="refuse") as down:
        failed = send_sal(SalConfig("127.0.0.1", down.port), "x", user="bob")
    assert failed.error == f"SAL relay 127.0.0.1:{down.port}: Connection refused"
    assert capsys.readouterr().err == ""  # no "--- Logging error ---" traceback


@pytest.mark.parametrize(("text", "seconds"), [("2h", 7200), ("1h30m", 5400), ("1d", 86400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "0h", "2 hours", "31d", "-1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_matchers() -> None:
    assert parse_matcher('instance=~"{controller}(:[0-9]+)?"', controller="cc3") == {
        "name": "instance", "value": "cc3(:[0-9]+)?", "isRegex": True, "isEqual": True}
    assert parse_matcher("team!=wmcs", controller="x")["isEqual"] is False
    for bad in ("instance", 'instance=~"("', '=~"x"'):
        with pytest.raises(UsageError):
            parse_matcher(bad, controller="x")
