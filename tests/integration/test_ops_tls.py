"""TLS served directly (tls_cert, tls_key): clients push and pull over HTTPS, and the
token realm the registry advertises is https."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.clients import ClientSandbox, LayoutImage
from tests.integration.conftest import ADMIN_PASSWORD, LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockyard test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    root = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(root)
    server = LiveServer(
        "dockyard",
        root,
        "",
        auth="token",
        extra_env={"DOCKYARD_TLS_CERT": str(cert), "DOCKYARD_TLS_KEY": str(key)},
        verify=ssl.create_default_context(cafile=str(cert)),
    )
    server.start()
    try:
        yield server, cert
    finally:
        server.stop()
    assert "Traceback" not in server.log()


def test_https_with_an_https_realm(tls_server: tuple[LiveServer, Path]) -> None:
    server, cert = tls_server
    assert server.url.startswith("https://")
    context = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=server.url, verify=context, trust_env=False) as client:
        challenge = client.get("/v2/")
        assert challenge.status_code == 401
        realm = challenge.headers["www-authenticate"]
        assert f'realm="https://{server.host}/jwt/auth"' in realm
        assert client.get("/-/health").json() == {"status": "ok"}
        server.cli("group", "create", "tls")
        server.cli("project", "create", "tls/app")
        token = client.get(
            "/jwt/auth",
            params={"service": "dockyard", "scope": "repository:tls/app:pull,push"},
            auth=("admin", ADMIN_PASSWORD),
        ).json()["token"]
        started = client.post(
            "/v2/tls/app/blobs/uploads/", headers={"Authorization": f"Bearer {token}"}
        )
        assert started.status_code == 202
        location = httpx.URL(server.url).join(started.headers["location"])
        assert location.scheme == "https"
    with pytest.raises(httpx.TransportError):  # plain HTTP is not spoken on that port
        httpx.get(f"http://{server.host}/v2/", timeout=5, trust_env=False)


def test_skopeo_push_and_pull_over_verified_tls(
    tls_server: tuple[LiveServer, Path],
    tiny_image: LayoutImage,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server, cert = tls_server
    certs = tmp_path_factory.mktemp("tls-certs")
    (certs / "ca.crt").write_bytes(cert.read_bytes())
    server.cli("group", "create", "tlspush")
    server.cli("project", "create", "tlspush/app")
    sandbox = ClientSandbox(server.host, tmp_path_factory.mktemp("tls-clients"))
    creds = f"admin:{ADMIN_PASSWORD}"
    target = sandbox.docker_ref("tlspush/app", "v1")
    sandbox.run(
        [
            "skopeo",
            "copy",
            "--dest-cert-dir",
            str(certs),
            "--dest-creds",
            creds,
            tiny_image.ref,
            target,
        ]
    )
    pulled = tmp_path_factory.mktemp("tls-pulled") / "layout"
    sandbox.run(
        [
            "skopeo",
            "copy",
            "--src-cert-dir",
            str(certs),
            "--src-creds",
            creds,
            target,
            f"oci:{pulled}:v1",
        ]
    )
    raw = sandbox.run(
        ["skopeo", "inspect", "--raw", "--cert-dir", str(certs), "--creds", creds, target]
    ).raw_stdout
    assert json.loads(raw)["layers"]
    index = json.loads((pulled / "index.json").read_text())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v1"
