"""/api/v1 vulnerability reports and rescans: shapes, index reports, project lists,
permissions and errors. Scans run through the job worker with stand-in scanner and matcher."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from tests.api.helpers import auth, push_image, push_index, repository_id
from tests.jobs.scanning import Advisories, live_jobs, worker
from tests.support.auth_registry import AuthRegistry

CRITICAL = ("CVE-2024-9999", "openssl", "critical", 9.8)
MEDIUM = ("GHSA-aaaa-bbbb-cccc", "requests", "medium", 5.3)
VULNERABILITY_FIELDS = {
    "id", "aliases", "summary", "package", "ecosystem", "installed_version", "fixed_version",
    "severity", "cvss_score", "source_package", "layer_digest", "path", "first_seen_at",
}  # fmt: skip


@pytest.fixture(scope="module")
def reg(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend)


@pytest.fixture
def project(reg: AuthRegistry) -> str:
    return reg.new_project("private")


def report(reg: AuthRegistry, repo_id: int, digest: str, secret: str | None = None):  # noqa: ANN201
    return reg.client.get(
        f"/api/v1/registry/repositories/{repo_id}/manifests/{digest}/vulnerabilities",
        headers=auth(secret or reg.admin_pat),
    )


def test_an_image_report(reg: AuthRegistry, project: str) -> None:
    pushed = push_image(reg, f"{project}/app", "v1", layers=[os.urandom(64)])
    repo_id = repository_id(reg, project, f"{project}/app", reg.admin_pat)
    queued = report(reg, repo_id, pushed.digest).json()
    assert queued["status"] == "queued" and queued["vulnerabilities"] == []
    worker(reg, Advisories([MEDIUM, CRITICAL])).drain()
    body = report(reg, repo_id, pushed.digest).json()
    assert body["status"] == "done" and body["reason"] is None and body["scanned_at"]
    assert body["os"] == {"id": "debian", "version": "12"}
    assert body["summary"] == {"critical": 1, "high": 0, "medium": 1, "low": 0, "unknown": 0}
    assert "manifests" not in body
    first, second = body["vulnerabilities"]  # worst first
    assert set(first) == VULNERABILITY_FIELDS
    assert first["id"] == "CVE-2024-9999" and first["severity"] == "critical"
    assert (first["package"], first["installed_version"]) == ("libssl3", "3.0.11-1~deb12u1")
    assert first["source_package"] == "openssl" and first["ecosystem"] == "Debian:12"
    assert first["aliases"] == ["ALIAS-CVE-2024-9999"] and first["cvss_score"] == 9.8
    assert first["fixed_version"] == "9.9" and first["path"] == "var/lib/dpkg/status"
    assert first["layer_digest"] == pushed.layers[0]["digest"]
    assert second["id"] == "GHSA-aaaa-bbbb-cccc" and second["source_package"] is None


def test_a_failed_scan_shows_its_reason(reg: AuthRegistry, project: str) -> None:
    pushed = push_image(reg, f"{project}/app", "bad", layers=[b"corrupt" + os.urandom(8)])
    repo_id = repository_id(reg, project, f"{project}/app", reg.admin_pat)
    worker(reg, Advisories()).drain()
    body = report(reg, repo_id, pushed.digest).json()
    assert (body["status"], body["reason"]) == ("failed", "layer 1 is not a tar archive")


def test_an_index_reports_its_platforms(reg: AuthRegistry, project: str) -> None:
    repo = f"{project}/multi"
    amd = push_image(reg, repo, "amd64", layers=[os.urandom(64)])
    arm = push_image(reg, repo, "arm64", layers=[b"corrupt" + os.urandom(8)])
    index = push_index(reg, repo, "v1", [amd, arm], [("linux", "amd64"), ("linux", "arm64")])
    repo_id = repository_id(reg, project, repo, reg.admin_pat)
    assert live_jobs(reg.db, f"scan:{index}") == []  # an index is not scanned itself
    assert report(reg, repo_id, index).json()["status"] == "queued"
    worker(reg, Advisories([CRITICAL, MEDIUM])).drain()
    body = report(reg, repo_id, index).json()
    assert "vulnerabilities" not in body
    assert body["status"] == "failed"  # one platform could not be scanned
    assert body["summary"] == {"critical": 1, "high": 0, "medium": 1, "low": 0, "unknown": 0}
    platforms = {m["digest"]: m for m in body["manifests"]}
    assert platforms[amd.digest]["platform"] == {"os": "linux", "architecture": "amd64"}
    assert platforms[amd.digest]["status"] == "done"
    assert platforms[arm.digest]["status"] == "failed"
    assert platforms[arm.digest]["summary"]["critical"] == 0


def test_a_digest_not_in_the_repository_is_404(reg: AuthRegistry, project: str) -> None:
    elsewhere = push_image(reg, f"{project}/one", "v1", layers=[os.urandom(32)])
    push_image(reg, f"{project}/two", "v1", layers=[os.urandom(32)])
    two = repository_id(reg, project, f"{project}/two", reg.admin_pat)
    for digest in (elsewhere.digest, "sha256:" + "0" * 64, "not-a-digest"):
        resp = report(reg, two, digest)
        assert resp.status_code == 404, resp.text
        assert resp.json()["error"]["code"] == "not_found"
    resp = reg.client.post(
        f"/api/v1/registry/repositories/{two}/manifests/{elsewhere.digest}/scan",
        headers=auth(reg.admin_pat),
    )
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_readers_read_developers_rescan_outsiders_see_nothing(
    reg: AuthRegistry, project: str
) -> None:
    pushed = push_image(reg, f"{project}/app", "v1", layers=[os.urandom(64)])
    repo_id = repository_id(reg, project, f"{project}/app", reg.admin_pat)
    worker(reg, Advisories([CRITICAL])).drain()
    reporter = reg.new_user({project: "reporter"})
    developer = reg.new_user({project: "developer"})
    outsider = reg.new_user()
    scan_url = f"/api/v1/registry/repositories/{repo_id}/manifests/{pushed.digest}/scan"

    assert report(reg, repo_id, pushed.digest, reporter.pat).status_code == 200
    assert report(reg, repo_id, pushed.digest, outsider.pat).status_code == 404
    assert reg.client.get(f"/api/v1/projects/{project}/vulnerabilities").status_code == 401
    resp = reg.client.post(scan_url, headers=auth(reporter.pat))
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    assert reg.client.post(scan_url, headers=auth(outsider.pat)).status_code == 404

    resp = reg.client.post(scan_url, headers=auth(developer.pat))
    assert resp.status_code == 202 and resp.json() == {"queued": [pushed.digest]}
    assert report(reg, repo_id, pushed.digest).json()["status"] == "queued"
    assert len(live_jobs(reg.db, f"scan:{pushed.digest}")) == 1
    worker(reg, Advisories([CRITICAL])).drain()
    assert report(reg, repo_id, pushed.digest).json()["status"] == "done"


def test_a_project_lists_its_images_worst_first(reg: AuthRegistry, project: str) -> None:
    clean = push_image(reg, f"{project}/clean", "v1", layers=[os.urandom(64)])
    worker(reg, Advisories()).drain()
    bad = push_image(reg, f"{project}/bad", "v1", layers=[os.urandom(64)])
    token = reg.token("admin", reg.admin_pat, f"repository:{project}/bad:pull,push")
    resp = reg.client.put(  # the same image under a second tag
        f"/v2/{project}/bad/manifests/v2",
        content=bad.body,
        headers={**reg.bearer(token), "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert resp.status_code == 201
    worker(reg, Advisories([CRITICAL, MEDIUM])).drain()
    reporter = reg.new_user({project: "reporter"})
    resp = reg.client.get(f"/api/v1/projects/{project}/vulnerabilities", headers=auth(reporter.pat))
    assert resp.status_code == 200, resp.text
    rows = resp.json()
    assert [r["digest"] for r in rows] == [bad.digest, clean.digest]
    assert rows[0]["repository"] == f"{project}/bad" and rows[0]["tags"] == ["v1", "v2"]
    assert rows[0]["summary"]["critical"] == 1 and rows[0]["status"] == "done"
    assert rows[1]["summary"] == {"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 0}
    assert isinstance(rows[0]["repository_id"], int)
    outsider = reg.new_user()
    resp = reg.client.get(f"/api/v1/projects/{project}/vulnerabilities", headers=auth(outsider.pat))
    assert resp.status_code == 404
