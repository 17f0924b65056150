"""`failover config validate`: every region, service and group it read; the checkout checked
(missing, not a git checkout: exit 2 with the fix)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ConfigFile, RunCli, make_checkout, region_toml
from tests.unit.config.test_services import GROUP, IRC

SOCKET = "unix:///run/haproxy/haproxy.sock"
REGION = region_toml("eqiad1", {"cloudcontrol1003": SOCKET, "cloudcontrol1004": SOCKET})


def dns(checkout: Path) -> str:
    return f'[dns]\ncheckout = "{checkout}"\n[gerrit]\nurl = "https://gerrit.example.org/r"\n'


def test_lists_regions_services_and_groups(run_cli: RunCli, config_file: ConfigFile,
                                           tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "dns")
    path = config_file(dns(checkout), REGION, IRC, GROUP)
    r = run_cli("config", "validate", "--config", str(path))
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"valid: {path}",
        "  regions: eqiad1 (2 controllers)",
        "  services: irc (1 record, 2 candidates)",
        "  groups: db-masters (2 records, sides eqiad, codfw)",
        f"  checkout: {checkout} (a git checkout)"]
    doc = json.loads(run_cli("config", "validate", "--json", "--config", str(path)).stdout)
    assert doc == {"valid": True, "path": str(path), "regions": ["eqiad1"], "services": ["irc"],
                   "groups": ["db-masters"], "checkout": {"path": str(checkout),
                                                          "problem": None}}


def test_a_missing_checkout_is_exit_2_with_the_clone_command(
        run_cli: RunCli, config_file: ConfigFile, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "dns"
    path = config_file(dns(missing), IRC)
    r = run_cli("config", "validate", "--config", str(path))
    assert r.code == 2, r.stderr
    assert r.stdout.splitlines()[0] == f"read: {path}"
    assert "services: irc" in r.stdout and f"checkout: {missing} (unusable)" in r.stdout
    said = " ".join(r.stderr.split())
    assert f"[dns] checkout {missing} does not exist" in said
    assert "`failover promote` cannot work without a clone of operations/dns" in said
    assert "health, verify and check do not need it" in said
    assert f"git clone https://gerrit.example.org/r/operations/dns {missing}" in said
    doc = json.loads(run_cli("config", "validate", "--json", "--config", str(path)).stdout)
    assert doc["valid"] is False and "does not exist" in doc["checkout"]["problem"]


def test_a_directory_that_is_not_a_git_checkout_is_exit_2(
        run_cli: RunCli, config_file: ConfigFile, tmp_path: Path) -> None:
    (tmp_path / "dns").mkdir()
    r = run_cli("config", "validate", "--config", str(config_file(dns(tmp_path / "dns"), REGION)))
    assert r.code == 2, r.stderr
    said = " ".join(r.stderr.split())
    assert f"{tmp_path / 'dns'} is not a git checkout" in said
    assert "`failover promote` cannot work" in said and "hint: clone operations/dns" in said


def test_a_git_repository_that_is_not_operations_dns_is_exit_2(
        run_cli: RunCli, config_file: ConfigFile, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "dns")
    (checkout / ".gitreview").unlink()
    r = run_cli("config", "validate", "--config", str(config_file(dns(checkout), REGION)))
    assert r.code == 2 and "has no .gitreview" in r.stderr, r.stderr
