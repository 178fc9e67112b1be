"""Scanning and the pull policy end to end, as people meet them: skopeo and podman against a
live server whose own job worker scans with the real scanner.

An image with a real dpkg status file is pushed; with no advisories it scans clean and
pulls. `dockyard vulndb import` then loads an advisory for its openssl: the server
rematches the stored inventory (no rescan of the layers) and the project's policy starts
refusing pulls, with the advisory named in what the clients print. An exception lets
pulls through until it expires, then the block is back.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.integration.clients import ClientSandbox, LayoutImage, host_arch, sha256_digest
from tests.integration.conftest import ADMIN_PASSWORD, LiveServer
from tests.scan.test_os_packages import DEBIAN_OS_RELEASE
from tests.vulndb.records import write_zip

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

STATUS = """Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u1

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
"""
ADVISORY = {
    "id": "DSA-9001-1",
    "modified": "2026-11-01T00:00:00Z",
    "aliases": ["CVE-2026-0001"],
    "summary": "openssl - remote code execution",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "Debian:12", "name": "openssl"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.15-1"}]}
            ],
        }
    ],
}


def debian_image(sandbox: ClientSandbox, workdir: Path) -> LayoutImage:
    """A Debian-like image: os-release and a dpkg status database, built with buildah."""
    name = f"debianish-{secrets.token_hex(4)}"
    root = workdir / name
    (root / "etc").mkdir(parents=True)
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "etc/os-release").write_text(DEBIAN_OS_RELEASE)
    (root / "var/lib/dpkg/status").write_text(STATUS)
    (root / "token.txt").write_text(secrets.token_hex(16))  # fresh content every run
    layout = workdir / "layouts" / name
    layout.parent.mkdir(parents=True, exist_ok=True)
    container = f"{name}-ctr"
    sandbox.buildah("from", "--name", container, "scratch")
    sandbox.buildah("copy", "-q", container, f"{root}/.", "/")
    sandbox.buildah("config", "--arch", host_arch(), "--os", "linux", container)
    sandbox.buildah("commit", "-q", "--rm", container, f"oci:{layout}:v1")
    return LayoutImage(layout, "v1", "")


class Place:
    """A project on the token-auth server, with podman logged in as the admin."""

    def __init__(self, server: LiveServer, sandbox: ClientSandbox, authfile: Path) -> None:
        self.server, self.sandbox, self.authfile = server, sandbox, str(authfile)
        self.project = f"scanpol-{secrets.token_hex(3)}/app"
        self.repo = f"{self.project}/web"
        out = server.cli(
            "token", "create", "personal", "--user", "admin", "--scope", "api", "-o", "json"
        )
        token = json.loads(out)["token"]
        self.api = httpx.Client(
            base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    def call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return self.api.request(method, f"/api/v1{path}", **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def place(
    auth_server: LiveServer, auth_sandbox: ClientSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Place:
    authfile = tmp_path_factory.mktemp("scanpol-auth") / "auth.json"
    authfile.write_text('{"auths": {}}\n')
    auth_sandbox.run(
        ["podman", "login", "--tls-verify=false", "--authfile", str(authfile),
         "-u", "admin", "-p", ADMIN_PASSWORD, auth_sandbox.registry]
    )  # fmt: skip
    found = Place(auth_server, auth_sandbox, authfile)
    group = found.project.split("/")[0]
    auth_server.cli("group", "create", group)
    auth_server.cli("project", "create", found.project, "--visibility", "private")
    return found


def eventually(check: Callable[[], object], what: str, timeout: float = 60.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def report(place: Place, digest: str) -> dict:
    repos = place.call("GET", f"/projects/{place.project}/registry/repositories").json()
    repo_id = next(r["id"] for r in repos if r["name"] == place.repo)
    resp = place.call("GET", f"/registry/repositories/{repo_id}/manifests/{digest}/vulnerabilities")
    assert resp.status_code == 200, resp.text
    return resp.json()


def skopeo_pull(place: Place, target: Path) -> tuple[int, str]:
    cmd = ["skopeo", "copy", "--src-tls-verify=false", "--src-authfile", place.authfile]
    ref = place.sandbox.docker_ref(place.repo, "v1")
    done = place.sandbox.run([*cmd, ref, f"oci:{target}:v1"], check=False)
    return done.returncode, done.stdout + done.stderr


def podman_pull(place: Place) -> tuple[int, str]:
    ref = place.sandbox.ref(place.repo, "v1")
    done = place.sandbox.podman(
        "pull", "--tls-verify=false", "--authfile", place.authfile, ref, check=False
    )
    return done.returncode, done.stdout + done.stderr


def test_import_rematches_then_policy_blocks_and_an_exception_expires(
    place: Place, tmp_path: Path
) -> None:
    image = debian_image(place.sandbox, tmp_path)
    cmd = ["skopeo", "copy", "--dest-tls-verify=false", "--dest-authfile", place.authfile]
    place.sandbox.run([*cmd, image.ref, place.sandbox.docker_ref(place.repo, "v1")])
    raw = place.sandbox.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", "--authfile", place.authfile,
         place.sandbox.docker_ref(place.repo, "v1")]
    ).raw_stdout  # fmt: skip
    digest = sha256_digest(raw)

    # Scanned on push by the server's own worker: Debian 12, two packages, no advisories yet.
    clean = eventually(
        lambda: (r := report(place, digest))["status"] == "done" and r, "the scan on push"
    )
    assert clean["os"] == {"id": "debian", "version": "12"} and clean["vulnerabilities"] == []

    policy = {"vulnerability_policy": {"block_severity": "high"}}
    assert place.call("PATCH", f"/projects/{place.project}", json=policy).status_code == 200
    code, text = skopeo_pull(place, tmp_path / "pulled-clean")
    assert code == 0, text

    # New advisories: imported by the operator's CLI, matched by the server without a rescan.
    place.server.cli("vulndb", "import", str(write_zip(tmp_path / "Debian.zip", [ADVISORY])))
    found = eventually(
        lambda: (r := report(place, digest))["vulnerabilities"] and r, "the rematch after import"
    )
    (finding,) = found["vulnerabilities"]
    assert (finding["id"], finding["package"], finding["severity"]) == (
        "DSA-9001-1",
        "libssl3",
        "critical",
    )
    assert finding["source_package"] == "openssl" and finding["fixed_version"] == "3.0.15-1"

    # Policy: both clients are refused and print why.
    expected = "1 finding DSA-9001-1 (critical, libssl3)"
    for pull in (lambda: skopeo_pull(place, tmp_path / "blocked"), lambda: podman_pull(place)):
        code, text = pull()
        assert code != 0, text
        assert "denied" in text.lower() and expected in text, text
        assert f"project {place.project}'s vulnerability policy blocks high" in text, text

    # An exception by the CVE alias lets pulls through until it expires.
    until = datetime.now(UTC) + timedelta(seconds=8)
    body = {"id": "CVE-2026-0001", "reason": "patched in our fork", "expires_at": until.isoformat()}
    created = place.call("POST", f"/projects/{place.project}/vulnerability_exceptions", json=body)
    assert created.status_code == 201, created.text
    code, text = podman_pull(place)
    assert code == 0, text
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.5)
    code, text = skopeo_pull(place, tmp_path / "expired")
    assert code != 0 and expected in text, text
