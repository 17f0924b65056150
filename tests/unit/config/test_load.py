"""Tests for failover.config: loading, defaults, and every problem reported at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from failover.config import load_config, normalize_target, parse_nameserver, record_type_for
from failover.errors import ConfigError, UsageError
from tests.conftest import RunCli, make_checkout

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

GOOD = """
[dns]
checkout = "dns"
[verify]
nameservers = ["127.0.0.1:5353", "[::1]:5354", "ns0.wikimedia.org"]
[regions.eqiad1]
fqdn = "openstack.eqiad1.wikimediacloud.org."
[regions.eqiad1.controllers.cloudcontrol1003]
target = "cloudcontrol1003.wikimedia.org."
stats = "http://user:s3cret@127.0.0.1:9900/stats;csv"
[regions.eqiad1.controllers.cloudcontrol1004]
target = "cloudcontrol1004.wikimedia.org."
stats = "unix:///run/haproxy/haproxy.sock"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["eqiad1.toml", "codfw1dev.toml", "sandbox.toml",
                                  "wikimedia-services.toml"])
def test_examples_are_valid(name: str) -> None:
    cfg = load_config(EXAMPLES / name)
    assert len(cfg.regions) == 1 or (not cfg.regions and len(cfg.services) == 6)


def test_defaults_and_relative_checkout(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.dns.checkout == (tmp_path / "dns").resolve()
    assert cfg.dns.zone_file == "templates/wikimediacloud.org"
    assert cfg.haproxy.timeout == 5.0
    region = cfg.region("eqiad1")
    assert region.fqdn == "openstack.eqiad1.wikimediacloud.org"
    assert "keystone_public" in region.services
    assert [str(n) for n in cfg.verify.nameservers] == [
        "127.0.0.1:5353", "[::1]:5354", "ns0.wikimedia.org"]
    assert region.controller_for_target("CLOUDCONTROL1004.wikimedia.org").name == (
        "cloudcontrol1004")


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    text = """
[dns]
zone_file = "../../etc/passwd"
colour = "blue"
[verify]
nameservers = ["not a host", "1.2.3.4:http"]
[regions.eqiad1]
fqdn = "openstack.eqiad1.wikimediacloud.org"
[regions.eqiad1.controllers.a]
target = "same.wikimedia.org."
stats = "ftp://a"
[regions.eqiad1.controllers.b]
target = "SAME.wikimedia.org."
[regions.eqiad1.controllers."bad name"]
target = "c.wikimedia.org."
stats = "http://c"
"""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    problems = "\n".join(info.value.problems)
    for expected in ("[dns.colour] unknown key", "[dns.zone_file]", "'not a host'",
                     "'http' is not a number", "[regions.eqiad1.controllers.a.stats]",
                     "scheme 'ftp'", "[regions.eqiad1.controllers.b.stats] missing",
                     "also the target of a", "[regions.eqiad1.controllers.bad name]"):
        assert expected in problems
    assert all(str(tmp_path / "config.toml") in p for p in info.value.problems)


def test_zone_file_escaping_through_symlink(tmp_path: Path) -> None:
    checkout = tmp_path / "dns"
    (checkout / "templates").mkdir(parents=True)
    (checkout / "templates" / "wikimediacloud.org").symlink_to("/etc/hostname")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, GOOD))
    assert "leads outside the checkout" in str(info.value)


def test_missing_file_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAILOVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(tmp_path / "failover" / "config.toml") in str(info.value)


def test_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[dns\n"))


def test_unknown_region_and_controller(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    with pytest.raises(UsageError, match="unknown name 'codfw1'") as info:
        cfg.region("codfw1")
    assert info.value.hint == "choose a region (eqiad1)"
    with pytest.raises(UsageError, match="invalid region, service or group name"):
        cfg.region("../x")
    with pytest.raises(UsageError, match="unknown controller 'cloudcontrol1005'"):
        cfg.region("eqiad1").controller("cloudcontrol1005")


@pytest.mark.parametrize("entry,host,port", [
    ("127.0.0.1", "127.0.0.1", 53), ("127.0.0.1:5353", "127.0.0.1", 5353),
    ("::1", "::1", 53), ("[::1]:5353", "::1", 5353),
    ("ns0.wikimedia.org:5353", "ns0.wikimedia.org", 5353),
])
def test_parse_nameserver(entry: str, host: str, port: int) -> None:
    ns = parse_nameserver(entry)
    assert (ns.host, ns.port) == (host, port)


@pytest.mark.parametrize("entry", ["", "a b", "host:0", "host:99999", "x;y"])
def test_parse_nameserver_rejects(entry: str) -> None:
    with pytest.raises(UsageError):
        parse_nameserver(entry)


def test_targets() -> None:
    assert record_type_for("185.15.57.24") == "A"
    assert record_type_for("2a02:ec80::1") == "AAAA"
    assert record_type_for("cloudcontrol1004.wikimedia.org.") == "CNAME"
    assert normalize_target("Foo.Example.org") == "foo.example.org."
    assert normalize_target("2a02:ec80:0::1") == "2a02:ec80::1"


def test_cli_validate_and_show_hide_password(tmp_path: Path, run_cli: RunCli) -> None:
    path = write(tmp_path, GOOD)
    make_checkout(tmp_path / "dns")
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 0 and "valid" in result.stdout
    result = run_cli("config", "show", "--config", str(path), "--json")
    assert result.code == 0
    doc = json.loads(result.stdout)
    stats = doc["regions"]["eqiad1"]["controllers"]["cloudcontrol1003"]["stats"]
    assert stats == "http://user:***@127.0.0.1:9900/stats;csv"
    assert "s3cret" not in result.stdout + result.stderr


def test_cli_validate_bad_config_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    path = write(tmp_path, "[regions.eqiad1]\nfqdn = 3\n")
    result = run_cli("config", "validate", "--config", str(path))
    assert result.code == 2
    assert "[regions.eqiad1.fqdn] must be a str" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_version_and_no_args(run_cli: RunCli) -> None:
    from failover import __version__
    result = run_cli("--version")
    assert result.code == 0 and result.stdout.strip() == f"failover {__version__}"
    result = run_cli()
    assert "promote" in result.stdout + result.stderr


def test_server_pattern_default_and_bad_values(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.haproxy.server_pattern == "{controller}"
    assert cfg.haproxy.ssh_command == ("socat", "unix-connect:{socket}", "stdio")  # no sudo
    for bad in ("cloudcontrol", "{controller}-{x}", "{controller"):
        text = GOOD + f"\n[haproxy]\nserver_pattern = {bad!r}\n"
        with pytest.raises(ConfigError) as info:
            load_config(write(tmp_path, text))
        assert any("haproxy.server_pattern" in p and "{controller}" in p
                   for p in info.value.problems), info.value.problems


def run_as_other_user(argv: list[str], where: Path) -> tuple[int, str, str]:
    """Return (exit code, stdout, stderr) of `failover ARGV`, run in a forked child as
    `nobody` when we are root (root enters every directory), else as we are."""
    import contextlib
    import os
    import pkgutil
    import sys
    from importlib import import_module

    import failover
    from failover import cli

    # nobody may not read the interpreter's tree (under /root) after the drop: run the same
    # command once here first, so every module it needs is imported before the fork
    for mod in pkgutil.walk_packages(failover.__path__, "failover."):
        import_module(mod.name)
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), \
            contextlib.redirect_stderr(null), contextlib.suppress(SystemExit):
        sys.argv = ["failover", *argv]
        cli.main()
    out, err = where / "out", where / "err"
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            fds = [os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666) for f in (out, err)]
            os.dup2(fds[0], 1)
            os.dup2(fds[1], 2)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            sys.argv = ["failover", *argv]
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # shown in the test's failure
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.read_text(), err.read_text()


@pytest.fixture
def unreachable_checkout() -> Iterator[Path]:
    """A config whose [dns] checkout lies in a directory this user cannot enter (mode 0700)."""
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="failover-perm-"))
    top.chmod(0o755)
    locked = top / "locked"
    (locked / "dns").mkdir(parents=True)
    locked.chmod(0o700 if os_is_root() else 0o000)
    config = top / "config.toml"
    config.write_text(GOOD.replace('checkout = "dns"', f'checkout = "{locked}/dns"'))
    config.chmod(0o644)
    try:
        yield config
    finally:
        locked.chmod(0o700)
        shutil.rmtree(top)


def os_is_root() -> bool:
    """Return True when the tests run as root."""
    import os

    return os.geteuid() == 0


def test_a_checkout_this_user_cannot_reach_is_a_config_error(unreachable_checkout: Path) -> None:
    code, _out, err = run_as_other_user(["config", "validate", "--config",
                                         str(unreachable_checkout)], unreachable_checkout.parent)
    assert code == 2, err
    assert "dns.checkout" in err and "cannot reach" in err
    assert "Permission denied" in err and "Traceback" not in err


def test_check_says_unknown_for_a_checkout_it_cannot_reach(unreachable_checkout: Path) -> None:
    code, out, err = run_as_other_user(["check", "eqiad1", "--config",
                                        str(unreachable_checkout)], unreachable_checkout.parent)
    assert code == 3, out + err
    assert out.startswith("UNKNOWN") and "cannot reach" in out
    assert "Traceback" not in out + err
