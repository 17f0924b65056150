"""Each service health kind against a real server: a TCP listener, an HTTPS server with its
own CA (made here with `cryptography`), a command; and `none`."""

from __future__ import annotations

import datetime
import http.server
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from failover.config import (
    Candidate,
    Config,
    DnsConfig,
    GerritConfig,
    HaproxyConfig,
    Health,
    VerifyConfig,
)
from failover.health import read_health

CFG = Config(path=Path("c.toml"), dns=DnsConfig(checkout=Path("/nonexistent")),
             gerrit=GerritConfig(), verify=VerifyConfig(), haproxy=HaproxyConfig())


def check(health: Health) -> tuple[bool, str]:
    result = read_health(CFG, Candidate("c1", {}, health))
    return result.healthy, result.detail


def test_tcp_listener_healthy_then_closed() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert check(Health("tcp", host="127.0.0.1", port=port, timeout=2))[0]
    ok, detail = check(Health("tcp", host="127.0.0.1", port=port, timeout=2))
    assert not ok and "cannot connect" in detail


def _cert(name: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
          signer: ec.EllipticCurvePrivateKey, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, Path]]:
    """An HTTPS server on 127.0.0.1 whose certificate is signed by a CA of its own."""
    d = tmp_path_factory.mktemp("tls")
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "failover test CA")])
    ca = _cert("failover test CA", ca_key, ca_name, ca_key, ca=True)
    leaf = _cert("localhost", key, ca_name, ca_key, ca=False)
    (d / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    other = _cert("other CA", ca_key, ca_name, ca_key, ca=True)  # same name, not the issuer
    (d / "other.pem").write_bytes(other.public_bytes(serialization.Encoding.PEM))
    (d / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = 200 if self.path == "/login" else 503
            body = b"<title>Wikimedia Central Auth</title>" if code == 200 else b"down"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "leaf.pem")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], d / "ca.pem", d / "other.pem"
    finally:
        server.shutdown()
        server.server_close()


def test_https_with_own_ca_status_and_body(https: tuple[int, Path, Path]) -> None:
    port, ca, _ = https
    url = f"https://localhost:{port}/login"
    assert check(Health("http", url=url, contains="Wikimedia", ca_bundle=str(ca)))[0]
    ok, detail = check(Health("http", url=url, contains="Phabricator", ca_bundle=str(ca)))
    assert not ok and "lacks 'Phabricator'" in detail
    ok, detail = check(Health("http", url=f"https://localhost:{port}/", ca_bundle=str(ca)))
    assert not ok and "answered 503, expected 200" in detail


def test_https_refused_without_its_ca(https: tuple[int, Path, Path]) -> None:
    port, _, other = https
    ok, detail = check(Health("http", url=f"https://localhost:{port}/login",
                              ca_bundle=str(other)))
    assert not ok and "TLS verification" in detail


def test_command_exit_status_and_timeout() -> None:
    py = sys.executable
    ok, detail = check(Health("command", argv=(py, "-c", "print('TCP OK - 0.001 second')")))
    assert ok and detail == "exit 0: TCP OK - 0.001 second"
    ok, detail = check(Health("command", argv=(py, "-c", "print('CRITICAL'); exit(2)")))
    assert not ok and detail == "exit 2: CRITICAL"
    ok, detail = check(Health("command", argv=(py, "-c", "import time; time.sleep(30)"),
                              timeout=0.5))
    assert not ok and "still running after 0.5s" in detail
    ok, detail = check(Health("command", argv=("/nonexistent/check_x",)))
    assert not ok and "command not found" in detail


def test_monitoring_plugin_check_tcp() -> None:
    plugin = Path("/usr/lib/nagios/plugins/check_tcp")
    if not plugin.exists():
        pytest.skip("monitoring-plugins-basic not installed")
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        ok, detail = check(Health("command", argv=(str(plugin), "-H", "127.0.0.1", "-p",
                                                   str(port))))
    assert ok and "TCP OK" in detail


def test_none_is_said() -> None:
    result = read_health(CFG, Candidate("c1", {}, Health()))
    assert result.healthy and "not checked" in result.detail
    assert result.checked == "none (no health check configured)"
