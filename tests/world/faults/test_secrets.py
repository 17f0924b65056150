"""Issue 20, section 1: a password in a service's health never shows in clear.

A `haproxy`-kind health's stats URL and a `command` health's argv hold `user:PW@` URLs; the
candidates point at a closed port on loopback. `health`, `status` and `config show` (human
and JSON) show `***` instead: every rendering goes through Health.describe's one redaction.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.conftest import ConfigFile, RunCli

PW = "S3cretPW"


@pytest.fixture
def cfg(config_file: ConfigFile, tmp_path: Path) -> Path:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    return config_file(
        "[dns]", f'checkout = "{tmp_path}"', "[verify]", f'nameservers = ["127.0.0.1:{port}"]',
        "query_timeout = 0.5",
        "[services.db]", 'fqdn = "m1-master.eqiad.wmnet"',
        "[services.db.candidates.db1001]", 'target = "db1001.eqiad.wmnet."',
        f'health = {{kind = "haproxy", stats = "http://admin:{PW}@127.0.0.1:{port}/stats;csv", '
        'services = ["mysql"]}',
        "[services.db.candidates.db1002]", 'target = "db1002.eqiad.wmnet."',
        f'health = {{kind = "command", argv = ["/bin/echo", "http://nagios:{PW}@127.0.0.1:{port}/"],'
        " timeout = 2}")


@pytest.mark.parametrize("args", [["health", "db"], ["health", "db", "--json"],
                                  ["status", "db"], ["config", "show"],
                                  ["config", "show", "--json"]],
                         ids=lambda a: " ".join(a))
def test_a_password_in_a_health_is_never_shown(run_cli: RunCli, cfg: Path,
                                               args: list[str]) -> None:
    result = run_cli(*args, "--config", str(cfg))
    shown = result.stdout + result.stderr
    assert PW not in shown, shown
    assert "***@127.0.0.1" in shown or args[0] == "status", shown
