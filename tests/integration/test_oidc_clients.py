"""Keyless CI login with real clients: a CI job's ID token from a local issuer (its own
keys and JWKS endpoint) logs skopeo in as ``oidc``, and the password that
``POST /api/v1/oidc/token`` exchanges it for pushes with skopeo and pulls with podman.
Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.clients import ClientSandbox, ImageBuilder, LayoutImage
from tests.integration.conftest import LiveServer, fail_on_traceback
from tests.support.oidc_issuer import TestIssuer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
AUDIENCE = "https://dockyard.ci.example"


@dataclass
class Setup:
    server: LiveServer
    sandbox: ClientSandbox
    issuer: TestIssuer
    project: str  # trusts the issuer for developer
    image: LayoutImage


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def setup(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: Callable[[], str],
) -> Iterator[Setup]:
    issuer = TestIssuer()
    url = postgres_url() if request.param == "postgres" else ""
    server = LiveServer(
        "dockyard",
        tmp_path_factory.mktemp(f"oidc-{request.param}"),
        url,
        auth="token",
        extra_env={"DOCKYARD_OIDC_ALLOWED_ISSUERS": issuer.url},
    )
    server.start()
    try:
        group = f"ci-{secrets.token_hex(3)}"
        server.cli("group", "create", group)
        server.cli("project", "create", f"{group}/app")
        out = server.cli("token", "create", "personal", "--user", "admin", "--scope", "api")
        pat = next(word for word in out.split() if word.startswith("dy_pat_"))
        body = {
            "issuer": issuer.url,
            "audience": AUDIENCE,
            "claims": {"repository": "acme/*", "ref": "refs/heads/main"},
            "role": "developer",
        }
        made = httpx.post(
            f"{server.url}/api/v1/projects/{group}/app/oidc_trust",
            json=body,
            headers={"Authorization": f"Bearer {pat}"},
        )
        assert made.status_code == 201, made.text
        sandbox = ClientSandbox(server.host, tmp_path_factory.mktemp("oidc-clients"))
        image = ImageBuilder(sandbox, tmp_path_factory.mktemp("oidc-images")).single("oidcimg")
        yield Setup(server, sandbox, issuer, f"{group}/app", image)
    finally:
        server.stop()
        issuer.close()
    fail_on_traceback(server.log(), "in the OIDC server")


@pytest.fixture
def authfile(tmp_path: Path) -> str:
    path = tmp_path / "auth.json"
    path.write_text('{"auths": {}}\n')
    return str(path)


def login(setup: Setup, tool: str, authfile: str, secret: str, check: bool = True):  # noqa: ANN201
    return setup.sandbox.run(
        [tool, "login", "--tls-verify=false", "--authfile", authfile, "-u", "oidc", "-p", secret,
         setup.sandbox.registry],
        check=check,
    )  # fmt: skip


def test_exchanged_password_pushes_with_skopeo_and_pulls_with_podman(
    setup: Setup, authfile: str
) -> None:
    exchanged = httpx.post(
        f"{setup.server.url}/api/v1/oidc/token", json={"token": setup.issuer.token(AUDIENCE)}
    )
    assert exchanged.status_code == 200, exchanged.text
    body = exchanged.json()
    assert body["projects"] == [{"project": setup.project, "role": "developer"}]
    login(setup, "skopeo", authfile, body["password"])
    target = setup.sandbox.docker_ref(f"{setup.project}/built", "v1")
    setup.sandbox.skopeo_copy(setup.image.ref, target, "--dest-authfile", authfile)
    podman_auth = str(Path(authfile).with_name("podman.json"))
    Path(podman_auth).write_text('{"auths": {}}\n')
    login(setup, "podman", podman_auth, body["password"])
    ref = setup.sandbox.ref(f"{setup.project}/built", "v1")
    setup.sandbox.podman("pull", "--tls-verify=false", "--authfile", podman_auth, ref)


def test_skopeo_logs_in_with_the_id_token_itself(setup: Setup, authfile: str) -> None:
    login(setup, "skopeo", authfile, setup.issuer.token(AUDIENCE))
    target = setup.sandbox.docker_ref(f"{setup.project}/direct", "v1")
    setup.sandbox.skopeo_copy(setup.image.ref, target, "--dest-authfile", authfile)
    seen = setup.sandbox.skopeo("inspect", "--authfile", authfile, target)
    assert '"Digest"' in seen.stdout


def test_skopeo_is_refused_an_expired_or_untrusted_token(setup: Setup, authfile: str) -> None:
    now = int(time.time())
    expired = setup.issuer.token(AUDIENCE, exp=now - 300, iat=now - 900, nbf=now - 900)
    result = login(setup, "skopeo", authfile, expired, check=False)
    assert result.returncode != 0
    feature = setup.issuer.token(AUDIENCE, ref="refs/heads/feature")
    result = login(setup, "skopeo", authfile, feature, check=False)
    assert result.returncode != 0
