"""Security: no shell, no leaked secret, TLS verified, no symlink followed, tight modes, and
only authoritative, matching DNS answers trusted.

Covered elsewhere and not repeated: config paths that escape the checkout
(tests/test_config.py::test_zone_file_escaping_through_symlink), a symlink planted as the lock
or the audit log (tests/test_lock.py::test_symlink_planted_as_lock_is_refused,
tests/test_audit.py::test_symlink_is_not_followed), `config show` hiding a stats password
(tests/test_config.py::test_cli_validate_and_show_hide_password).
"""

from __future__ import annotations

import ast
import os
import ssl
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.message
import dns.name
import pytest

import failover
from failover.audit import append_line, default_audit_path
from failover.config import Controller, HaproxyConfig, parse_config
from failover.dnscheck import check_region
from failover.errors import GitError, UsageError
from failover.gerrit import GerritClient
from failover.haproxy import StatsReadError, read_stats
from failover.lock import FailoverLock
from failover.zone import write_atomic
from sandbox.haproxy import haproxy_available
from sandbox.world import World, start_world
from tests.helpers import C3, C4, FakeDns, audit, cname_answer, tool_env
from tests.world.test_haproxy import good_csv

PACKAGE = Path(failover.__file__).parent


# -- no shell ----------------------------------------------------------------------------------

def test_no_shell_anywhere_and_every_subprocess_bounded() -> None:
    """shell=True, os.system and os.popen appear nowhere; every run() has a timeout."""
    unbounded = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            assert name not in ("os.system", "os.popen", "os.spawnl", "os.execl"), \
                f"{path}:{node.lineno}: {name}"
            for kw in node.keywords:
                assert not (kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False)), \
                    f"{path}:{node.lineno}: shell="
            if name in ("subprocess.run", "subprocess.check_output", "subprocess.call") and \
                    not any(kw.arg == "timeout" for kw in node.keywords):
                unbounded.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not unbounded, unbounded
    text = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    assert "shell=True" not in text and "os.system(" not in text and "os.popen(" not in text


# -- no secret in any output, log or audit line -----------------------------------------------

GERRIT_SECRET = "Gerrit-S3cret-4711"
STATS_SECRET = "Stats-S3cret-0815"


@pytest.fixture
def world_with_secrets() -> Iterator[World]:
    with start_world(auto_merge_after=0.3) as w:
        w.dns.gerrit.password = GERRIT_SECRET
        for name in (C3, C4):  # HAProxy's own basic auth on the stats page
            c = w.haproxy.controllers[name]
            w.haproxy.stop_haproxy(name)
            c.config_path.write_text(c.config_path.read_text().replace(
                "    stats uri /stats\n",
                f"    stats uri /stats\n    stats auth statsuser:{STATS_SECRET}\n"))
            w.haproxy.start_haproxy(name)
        w.haproxy.wait_checked()
        yield w


@pytest.mark.skipif(not haproxy_available(), reason="haproxy not installed")
def test_secrets_appear_in_no_output_log_or_audit_line(world_with_secrets: World) -> None:
    w = world_with_secrets
    path = w.write_config()
    c3_url = w.haproxy.controllers[C3].stats_url
    # C3's password in its stats URL, C4's from the environment
    path.write_text(path.read_text().replace(
        c3_url, c3_url.replace("http://", f"http://statsuser:{STATS_SECRET}@")))
    env = tool_env(w, FAILOVER_GERRIT_USER="failover", FAILOVER_GERRIT_PASSWORD=GERRIT_SECRET,
                   FAILOVER_STATS_USER="statsuser", FAILOVER_STATS_PASSWORD=STATS_SECRET)
    outputs = []
    for args in (["promote", "eqiad1", C4, "--yes", "-v"],
                 ["promote", "eqiad1", C3, "--yes", "-v", "--json"],
                 ["status", "-v", "--json"], ["health", "eqiad1", "-v"],
                 ["verify", "eqiad1", "--once", "-v"], ["config", "show", "--json"]):
        done = subprocess.run([sys.executable, "-m", "failover.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        outputs.append(done.stdout + done.stderr)
        if args[0] == "promote":
            assert done.returncode == 0, done.stderr
    assert any(r.startswith("/r/a/changes/") for r in w.dns.gerrit.requests)  # auth was used
    everything = "\n".join(outputs) + w.audit_path.read_text()
    assert "cloudcontrol1003  UNREACHABLE" not in everything  # the stats auth worked
    for secret in (GERRIT_SECRET, STATS_SECRET):
        assert secret not in everything
    assert all(r["result"] for r in audit(w))
    # a wrong password is reported, and still not echoed
    env["FAILOVER_GERRIT_PASSWORD"] = "Wrong-" + GERRIT_SECRET
    done = subprocess.run([sys.executable, "-m", "failover.cli", "promote", "eqiad1", C4,
                           "--yes", "-v"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 4 and "refused the credentials (401)" in done.stderr
    assert GERRIT_SECRET not in done.stdout + done.stderr + w.audit_path.read_text()


# -- TLS verified by default, a CA bundle to trust a private CA, no fallback ------------------

@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Yield (base URL, certificate path) of a local HTTPS server with a self-signed cert."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True,
                   timeout=60)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (good_csv(("nova_api",)) if self.path.startswith("/stats")
                    else ")]}'\n[]").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", str(cert)
    finally:
        server.shutdown()
        server.server_close()


def test_stats_over_https_verify_the_certificate(https_server: tuple[str, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    base, cert = https_server
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    cfg = HaproxyConfig(connect_timeout=2, timeout=2)
    with pytest.raises(StatsReadError, match=r"TLS error: .*certificate verify failed"):
        read_stats(Controller(C3, "c.example.org.", f"{base}/stats;csv"), cfg)
    snapshot = read_stats(Controller(C3, "c.example.org.", f"{base}/stats;csv",
                                     ca_bundle=cert), cfg)
    assert snapshot.rows


def test_gerrit_over_https_verifies_the_certificate(https_server: tuple[str, str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    base, cert = https_server
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(GitError, match=r"TLS error .*certificate verify failed") as info:
        GerritClient(f"{base}/r", timeout=2, retries=1).query_changes("topic:x")
    assert info.value.hint and "CA bundle" in info.value.hint
    assert GerritClient(f"{base}/r", timeout=2, ca_bundle=cert).query_changes("topic:x") == []


def test_ca_bundle_keys_are_read_and_there_is_no_insecure_switch(tmp_path: Path) -> None:
    wmf, ca = tmp_path / "wmf.pem", tmp_path / "ca"  # a missing one is a config error (issue 20)
    wmf.write_text("")
    ca.write_text("")
    raw = {"gerrit": {"ca_bundle": str(wmf)},
           "regions": {"eqiad1": {"fqdn": "openstack.eqiad1.wikimediacloud.org", "controllers": {
               C3: {"target": "10.0.0.1", "stats": "https://a/stats;csv", "ca_bundle": str(ca)},
               C4: {"target": "10.0.0.2", "stats": "https://b/stats;csv"}}}}}
    cfg = parse_config(raw, tmp_path / "c.toml")
    assert cfg.gerrit.ca_bundle == str(wmf)
    assert cfg.region("eqiad1").controller(C3).ca_bundle == str(ca)
    source = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    assert "verify=False" not in source and "CERT_NONE" not in source


# -- the state directory: ours, real, private -------------------------------------------------

def test_state_dir_symlinked_or_owned_by_another_user_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "failover").symlink_to(elsewhere)
    subprocess.run(["git", "init", "-q", str(tmp_path / "dns")], check=True, timeout=30)
    lock = FailoverLock.for_checkout(tmp_path / "dns", "test")  # in the checkout's git dir
    with lock:
        assert lock.path == tmp_path / "dns" / ".git" / "failover.lock"
    with pytest.raises(UsageError, match="is not a directory"):
        append_line(default_audit_path(), "{}")
    assert list(elsewhere.iterdir()) == []
    if os.getuid() != 0:
        return  # only root can give a directory to someone else here
    (tmp_path / "state" / "failover").unlink()
    (tmp_path / "state" / "failover").mkdir(mode=0o700)
    os.chown(tmp_path / "state" / "failover", 65534, 65534)
    with pytest.raises(UsageError, match="belongs to another user"):
        append_line(default_audit_path(), "{}")


def test_files_are_written_with_tight_modes(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    old = os.umask(0)  # the modes must not depend on a lax umask
    try:
        append_line(default_audit_path(), "{}")
        subprocess.run(["git", "init", "-q", str(tmp_path / "dns")], check=True, timeout=30)
        with FailoverLock.for_checkout(tmp_path / "dns", "test") as lock:
            # readable by every user of the checkout (the holder is shown), written by none
            assert stat.S_IMODE(lock.path.stat().st_mode) == 0o644
        zone = tmp_path / "zone"
        zone.write_text("old\n")
        zone.chmod(0o640)
        write_atomic(zone, "new\n")
        write_atomic(tmp_path / "fresh", "new\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(default_audit_path().stat().st_mode) == 0o600
    assert stat.S_IMODE(default_audit_path().parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(zone.stat().st_mode) == 0o640 and zone.read_text() == "new\n"
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o644


# -- DNS answers trusted only when authoritative and matching the query -----------------------

@pytest.mark.parametrize(("lie", "verdict"), [
    ("no AA", "not authoritative"),
    ("other question", "timeout"),
    ("other id", "timeout"),
    ("answer for another name", "wrong"),
])
def test_only_authoritative_matching_answers_are_trusted(lie: str, verdict: str) -> None:
    target = f"{C4}.wikimedia.org."

    def answer(query: dns.message.Message, tcp: bool) -> dns.message.Message:
        if lie == "other question":
            other = dns.message.make_query("openstack.codfw1dev.wikimediacloud.org", "A")
            other.id = query.id
            return cname_answer(other, target)
        reply = cname_answer(query, target, aa=lie != "no AA")
        if lie == "other id":
            reply.id = (query.id + 1) % 65536
        if lie == "answer for another name":
            reply.answer[0].name = dns.name.from_text("elsewhere.example.org")
        return reply

    with FakeDns(answer) as fake:
        cfg = parse_config({"verify": {"nameservers": [fake.address], "query_timeout": 0.3},
                            "regions": {"eqiad1": {
                                "fqdn": "openstack.eqiad1.wikimediacloud.org", "controllers": {
                                    C3: {"target": f"{C3}.wikimedia.org.", "stats": "unix:///a"},
                                    C4: {"target": target, "stats": "unix:///b"}}}}},
                           Path("/tmp/c.toml"))
        region = cfg.region("eqiad1")
        report = check_region(cfg, region, region.controller(C4))
    (server,) = report.servers
    # dnspython drops a reply whose id or question differs from the query's (BadResponse)
    assert server.verdict == verdict or (verdict == "timeout" and server.verdict.startswith(
        "error: BadResponse")), server.verdict
    assert not server.ok and not report.agree and fake.queries

