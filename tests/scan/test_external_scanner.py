"""An external, Harbor-compatible scanner adapter instead of the built-in matcher.

A live Dockyard (``dockyard serve``, token auth, its own job worker) is pointed at a
real adapter server (tests/support/harbor_adapter.py) through ``DOCKYARD_SCANNER_*``.
Pushing an image queues a scan; the worker asks the adapter, which pulls the image back
from Dockyard with the pull token it was handed, and the findings it reports land in
the REST report. Every way the adapter can fail ends as a ``failed`` scan with a reason,
and the server never logs a traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.admin import tokens as admin_tokens
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.vulndb.importer import import_paths
from tests.api.helpers import Pushed, auth, push_image, repository_id
from tests.integration.conftest import LiveServer, fail_on_traceback
from tests.jobs.test_scan_end_to_end import STATUS, layer
from tests.scan.test_os_packages import DEBIAN_OS_RELEASE
from tests.support.auth_registry import AuthRegistry
from tests.support.harbor_adapter import Advisory, HarborAdapter
from tests.vulndb.records import DEBIAN_OPENSSL, write_folder

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ADAPTER_AUTH = "Bearer adapter-secret-for-the-tests"
TIMEOUT = 5  # scanner_timeout_seconds of the server under test
ADVISORIES = {
    "libssl3": [
        Advisory(
            "CVE-2023-5678",
            "3.0.11-1~deb12u2",
            "High",
            7.5,
            "openssl: excessive time spent in DH checks\nLong explanation follows.",
        )
    ],
    "zlib1g": [Advisory("CVE-2023-45853", "", "Negligible", None, "zlib: integer overflow")],
}


@dataclass
class Setup:
    reg: AuthRegistry
    adapter: HarborAdapter
    server: LiveServer


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    adapter = HarborAdapter(ADVISORIES, ADAPTER_AUTH, pending_polls=2, refresh_after=1)
    adapter.start()
    env = {
        "DOCKYARD_SCANNER_URL": adapter.url,
        "DOCKYARD_SCANNER_AUTH": ADAPTER_AUTH,
        "DOCKYARD_SCANNER_TIMEOUT_SECONDS": str(TIMEOUT),
    }
    server = LiveServer(
        "dockyard", tmp_path_factory.mktemp("external"), "", auth="token", extra_env=env
    )
    server.start()
    settings = Settings(data_dir=server.data_dir, database_url=server.database_url, auth="token")
    db = Database(server.database_url)
    client = httpx.Client(base_url=server.url, timeout=60, trust_env=False)
    try:
        pat = admin_tokens.create_personal(db, "admin", "tests", ["api"]).secret
        yield Setup(AuthRegistry(client, db, settings, pat), adapter, server)  # type: ignore[arg-type]
    finally:
        client.close()
        db.dispose()
        server.stop()
        adapter.stop()
    fail_on_traceback(server.log(), "with an external scanner")


def push(reg: AuthRegistry, name: str) -> tuple[str, Pushed, str]:
    """A Debian image with libssl3 and zlib1g (bottom layer) and an app layer; the
    repository, what was pushed, and the URL of its vulnerability report."""
    project = reg.new_project("private")
    base = layer({"etc/os-release": DEBIAN_OS_RELEASE, "var/lib/dpkg/status": STATUS})
    repository = f"{project}/{name}"
    app = layer({"app/README": f"{repository}\n"})  # a digest of its own: scans go by digest
    pushed = push_image(reg, repository, "v1", layers=[base, app])
    repo_id = repository_id(reg, project, repository, reg.admin_pat)
    url = f"/api/v1/registry/repositories/{repo_id}/manifests/{pushed.digest}"
    return repository, pushed, url


def settled(reg: AuthRegistry, url: str, seconds: float = 60) -> dict[str, Any]:
    """The report once the scan has left queued/scanning."""
    deadline = time.monotonic() + seconds
    while True:
        body = reg.client.get(url + "/vulnerabilities", headers=auth(reg.admin_pat)).json()
        if body["status"] not in ("queued", "scanning", None) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_findings_come_from_the_adapter(setup: Setup, tmp_path: Path) -> None:
    reg, adapter = setup.reg, setup.adapter
    repository, pushed, url = push(reg, "app")
    body = settled(reg, url)
    assert body["status"] == "done", body
    assert body["os"] == {"id": "debian", "version": "12"}  # the built-in walk still ran
    assert body["summary"] == {"critical": 0, "high": 1, "medium": 0, "low": 1, "unknown": 0}
    found = {v["id"]: v for v in body["vulnerabilities"]}
    assert set(found) == {"CVE-2023-5678", "CVE-2023-45853"}
    base_layer = pushed.layers[0]["digest"]
    assert found["CVE-2023-5678"] == {
        "id": "CVE-2023-5678",
        "aliases": [],
        "summary": "openssl: excessive time spent in DH checks",
        "package": "libssl3",
        "ecosystem": "Debian:12",
        "installed_version": "3.0.11-1~deb12u1",
        "fixed_version": "3.0.11-1~deb12u2",
        "severity": "high",
        "cvss_score": 7.5,
        "source_package": "openssl",
        "layer_digest": base_layer,
        "path": "var/lib/dpkg/status",
        **{k: v for k, v in found["CVE-2023-5678"].items() if k == "first_seen_at"},
    }
    zlib = found["CVE-2023-45853"]
    assert (zlib["severity"], zlib["fixed_version"], zlib["cvss_score"]) == ("low", None, None)
    assert zlib["source_package"] == "zlib" and zlib["layer_digest"] == base_layer

    # The adapter got a well-formed request and pulled every blob with the token it got.
    scan = adapter.scan_of(repository, pushed.digest)
    assert scan.request["artifact"] == {
        "repository": repository,
        "digest": pushed.digest,
        "mime_type": "application/vnd.oci.image.manifest.v1+json",
    }
    assert scan.request["registry"]["url"] == setup.server.url
    pulled = {path.rsplit("/", 1)[1]: status for path, status in scan.pulled}
    config = json.loads(pushed.body)["config"]["digest"]
    digests = {pushed.digest, config, *(d["digest"] for d in pushed.layers)}
    assert pulled == dict.fromkeys(digests, 200)

    # Pending first: two 302s, each waited out for its Refresh-After, then the report.
    statuses = [status for _, status in scan.polls]
    assert statuses == [302, 302, 200], statuses
    gaps = [
        later - earlier
        for (earlier, _), (later, _) in zip(scan.polls, scan.polls[1:], strict=False)
    ]
    assert min(gaps) >= 0.9, gaps

    # The pull token reads this repository only, and cannot push.
    token = scan.request["registry"]["authorization"]
    assert token.startswith("Bearer ")
    other, _, _ = push(reg, "other")
    headers = {"Authorization": token, "Accept": "application/vnd.oci.image.manifest.v1+json"}
    mine = reg.client.get(f"/v2/{repository}/manifests/{pushed.digest}", headers=headers)
    assert mine.status_code == 200
    elsewhere = reg.client.get(f"/v2/{other}/manifests/v1", headers=headers)
    assert elsewhere.status_code == 403, elsewhere.text
    upload = reg.client.post(f"/v2/{repository}/blobs/uploads/", headers=headers)
    assert upload.status_code == 403, upload.text

    # The SBOM comes from the built-in inventory, as without an adapter.
    sbom = reg.client.get(url + "/sbom", headers=auth(reg.admin_pat))
    assert sbom.status_code == 200, sbom.text
    assert {c["purl"] for c in sbom.json()["components"]} == {
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64",
        "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64",
    }

    # Our own advisories do not replace the adapter's findings: the rematch is skipped.
    import_paths(reg.db, [write_folder(tmp_path / "osv", [DEBIAN_OPENSSL])])
    deadline = time.monotonic() + 30
    while "rematch skipped" not in setup.server.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "rematch skipped" in setup.server.log()
    after = settled(reg, url)
    assert {v["id"] for v in after["vulnerabilities"]} == set(found)


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("scan-500", "answered 500 to POST /scan: enqueuing scan job: the vulnerability database"),
        ("report-500", "failed the scan: 500 RuntimeError: the image could not be analyzed"),
        ("pending", f"gave no report within {TIMEOUT} s (scan "),
        ("hang", f"did not answer within {TIMEOUT} s"),
    ],
)
def test_adapter_failures_become_failed_scans(setup: Setup, behaviour: str, reason: str) -> None:
    reg = setup.reg
    repository = f"{reg.new_project('private')}/{behaviour}"
    setup.adapter.behaviour[repository] = behaviour
    started = time.monotonic()
    files = {"etc/os-release": DEBIAN_OS_RELEASE, "app/README": f"{repository}\n"}
    pushed = push_image(reg, repository, "v1", layers=[layer(files)])
    project = repository.rsplit("/", 1)[0]
    repo_id = repository_id(reg, project, repository, reg.admin_pat)
    body = settled(reg, f"/api/v1/registry/repositories/{repo_id}/manifests/{pushed.digest}")
    assert body["status"] == "failed", body
    assert body["reason"].startswith(f"the scanner adapter at {setup.adapter.url} "), body
    assert reason in body["reason"], body["reason"]
    assert body["vulnerabilities"] == []
    if behaviour in ("pending", "hang"):  # given up at the timeout, not at the job's lease
        assert time.monotonic() - started < TIMEOUT + 15


def test_an_unreachable_adapter_fails_the_scan(setup: Setup) -> None:
    reg, adapter = setup.reg, setup.adapter
    adapter.stop()
    try:
        _, _, url = push(reg, "unreachable")
        body = settled(reg, url)
    finally:
        adapter.start()  # the same port again, for whatever runs next
    assert body["status"] == "failed", body
    assert body["reason"].startswith(
        f"the scanner adapter at {adapter.url} could not be reached: ConnectError"
    ), body["reason"]


def test_wrong_adapter_credentials_are_named(setup: Setup) -> None:
    reg, adapter = setup.reg, setup.adapter
    adapter.auth = "Bearer something-else"
    try:
        _, _, url = push(reg, "refused")
        body = settled(reg, url)
    finally:
        adapter.auth = ADAPTER_AUTH
    assert body["status"] == "failed", body
    assert "refused Dockyard's credentials (scanner_auth) on GET /metadata: 401" in body["reason"]
    assert "invalid or missing adapter credentials" in body["reason"]


def test_a_block_unscanned_policy_does_not_stop_the_adapter_pulling(setup: Setup) -> None:
    """The adapter pulls while the scan is still ``scanning``: exactly what the policy
    refuses to everyone else. Its pull must go through, or the scan could never finish."""
    reg = setup.reg
    project = reg.new_project("private")
    policy = {"vulnerability_policy": {"block_unscanned": True, "block_severity": "critical"}}
    resp = reg.client.patch(f"/api/v1/projects/{project}", json=policy, headers=auth(reg.admin_pat))
    assert resp.status_code == 200, resp.text
    base = layer({"etc/os-release": DEBIAN_OS_RELEASE, "var/lib/dpkg/status": STATUS})
    repository = f"{project}/guarded"
    pushed = push_image(reg, repository, "v1", layers=[base, layer({"app/x": repository})])
    repo_id = repository_id(reg, project, repository, reg.admin_pat)
    body = settled(reg, f"/api/v1/registry/repositories/{repo_id}/manifests/{pushed.digest}")
    assert body["status"] == "done", body
    assert {v["id"] for v in body["vulnerabilities"]} == {"CVE-2023-5678", "CVE-2023-45853"}
