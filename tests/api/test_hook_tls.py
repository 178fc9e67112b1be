"""HTTPS deliveries go to the address that was checked, yet the receiver's certificate is
checked against the URL's host name (SNI), not against that address."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dockyard.webhooks.sender import Sender
from dockyard.webhooks.ssrf import AllowList


def certificate(folder: Path, dns_name: str) -> tuple[Path, Path]:
    """A self-signed certificate naming ``dns_name`` only (no IP address)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{dns_name}.crt", folder / f"{dns_name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def https_receiver(cert: Path, key: Path) -> Iterator[tuple[int, list[dict]]]:
    seen: list[dict] = []
    names: list[str | None] = []  # the server names the clients' handshakes asked for

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", "0")))
            seen.append({"host": self.headers["host"], "sni": names[-1] if names else None})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    class Server(ThreadingHTTPServer):
        def handle_error(self, *_args: object) -> None:
            return  # a refused handshake

    server = Server(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def test_https_checks_the_name_while_connecting_to_the_checked_address(tmp_path: Path) -> None:
    cert, key = certificate(tmp_path, "localhost")
    with https_receiver(cert, key) as (port, seen):
        sender = Sender(AllowList.parse("localhost"), verify=str(cert))
        attempt = sender.send(
            f"https://localhost:{port}/hook", "s", "d-1", "push", b"{}", "application/json"
        )
        sender.close()
    assert attempt.ok, attempt.error
    assert seen == [{"host": f"localhost:{port}", "sni": "localhost"}]


def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    cert, key = certificate(tmp_path, "elsewhere.example")
    with https_receiver(cert, key) as (port, seen):
        sender = Sender(AllowList.parse("localhost"), verify=str(cert))
        attempt = sender.send(
            f"https://localhost:{port}/hook", "s", "d-1", "push", b"{}", "application/json"
        )
        sender.close()
    assert not attempt.ok and "CERTIFICATE_VERIFY_FAILED" in (attempt.error or "")
    assert seen == []
