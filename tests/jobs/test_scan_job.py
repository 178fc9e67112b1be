"""Scan-on-push and the scan job, with stand-in scanner and matcher: results, failures,
artifacts, crashes and rematches."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import pytest

from dockyard.db.queries import jobs, scans
from dockyard.oci.digest import digest_bytes
from dockyard.registry import build_registry
from dockyard.scan import results
from dockyard.scan.analyzer import Limits
from dockyard.storage import open_store
from tests.api.helpers import push_image
from tests.jobs.scanning import Advisories, fake_scanner, live_jobs, worker
from tests.support.auth_registry import AuthRegistry

OPENSSL = ("CVE-2024-0001", "openssl", "high", 7.5)
REQUESTS = ("GHSA-aaaa-bbbb-cccc", "requests", "medium", 5.3)


@pytest.fixture(scope="module")
def scanning(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend)


@pytest.fixture
def repo(scanning: AuthRegistry) -> str:
    return scanning.new_project("private") + "/app"


def status(registry: AuthRegistry, digest: str) -> scans.ScanRecord | None:
    with registry.db.session() as conn:
        return scans.scan(conn, digest)


def test_a_push_queues_a_scan_in_its_own_transaction(scanning: AuthRegistry, repo: str) -> None:
    pushed = push_image(scanning, repo, "v1", layers=[os.urandom(64)])
    record = status(scanning, pushed.digest)
    assert record is not None and record.status == "queued"
    [(kind, payload)] = live_jobs(scanning.db, f"scan:{pushed.digest}")
    assert kind == "scan" and json.loads(payload) == {"repository": repo, "digest": pushed.digest}
    # the same manifest again (another tag): the same content, nothing more to queue
    token = scanning.token("admin", scanning.admin_pat, f"repository:{repo}:pull,push")
    resp = scanning.client.put(
        f"/v2/{repo}/manifests/again",
        content=pushed.body,
        headers={**scanning.bearer(token), "Content-Type": json.loads(pushed.body)["mediaType"]},
    )
    assert resp.status_code == 201
    assert len(live_jobs(scanning.db, f"scan:{pushed.digest}")) == 1
    assert worker(scanning, Advisories()).drain() == 1
    # and once it has been scanned, another tag on it queues no second scan
    resp = scanning.client.put(
        f"/v2/{repo}/manifests/later",
        content=pushed.body,
        headers={**scanning.bearer(token), "Content-Type": json.loads(pushed.body)["mediaType"]},
    )
    assert resp.status_code == 201
    assert live_jobs(scanning.db, f"scan:{pushed.digest}") == []
    assert status(scanning, pushed.digest).status != "queued"


def test_a_push_that_fails_after_queueing_leaves_no_job(
    scanning: AuthRegistry, repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job is written by the push's transaction: if the push rolls back, so does it."""
    from dockyard.registry import manifests

    real = manifests.scan_rows.request_scan

    def queue_then_fail(conn, repository, digest, force=False):  # noqa: ANN001, ANN202
        real(conn, repository, digest, force)
        raise RuntimeError("the push failed after queueing its scan")

    registry = build_registry(scanning.settings, scanning.db, open_store(scanning.settings))
    pushed = push_image(scanning, repo, "base", layers=[os.urandom(64)])
    other = json.loads(pushed.body)
    other["annotations"] = {"again": "yes"}
    body = json.dumps(other).encode()
    monkeypatch.setattr(manifests.scan_rows, "request_scan", queue_then_fail)
    with pytest.raises(RuntimeError):
        registry.manifests.put(repo, "second", body, other["mediaType"])
    monkeypatch.undo()
    digest = str(digest_bytes(body))
    assert live_jobs(scanning.db, f"scan:{digest}") == []
    assert status(scanning, digest) is None
    resp = scanning.client.get(
        f"/v2/{repo}/manifests/second",
        headers=scanning.bearer(
            scanning.token("admin", scanning.admin_pat, f"repository:{repo}:pull")
        ),
    )
    assert resp.status_code == 404  # the manifest went with it
    worker(scanning, Advisories()).drain()


def test_a_scan_stores_the_inventory_and_findings(scanning: AuthRegistry, repo: str) -> None:
    pushed = push_image(scanning, repo, "v1", layers=[os.urandom(64), os.urandom(32)])
    assert worker(scanning, Advisories([OPENSSL, REQUESTS])).drain() >= 1
    record = status(scanning, pushed.digest)
    assert record is not None and record.status == "done" and record.scanned_at is not None
    assert (record.os_id, record.os_version) == ("debian", "12")
    store = open_store(scanning.settings)
    with scanning.db.session() as conn:
        inventory = results.load_inventory(conn, pushed.digest)
        stored = results.load_findings(conn, pushed.digest)
    assert inventory == fake_scanner(store, json.loads(pushed.body), Limits())
    found = {(f.finding.advisory_id, f.finding.package.name) for f in stored}
    assert found == {("CVE-2024-0001", "libssl3"), ("GHSA-aaaa-bbbb-cccc", "requests")}
    assert live_jobs(scanning.db, f"scan:{pushed.digest}") == []  # done: key released


def test_a_refused_layer_records_failed_with_the_reason(scanning: AuthRegistry, repo: str) -> None:
    pushed = push_image(scanning, repo, "bad", layers=[b"corrupt" + os.urandom(16)])
    worker(scanning, Advisories([OPENSSL])).drain()
    record = status(scanning, pushed.digest)
    assert record is not None
    assert (record.status, record.reason) == ("failed", "layer 1 is not a tar archive")
    token = scanning.token("admin", scanning.admin_pat, f"repository:{repo}:pull")
    resp = scanning.client.get(
        f"/v2/{repo}/manifests/bad",
        headers={**scanning.bearer(token), "Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert resp.status_code == 200  # the registry keeps serving it


def test_an_artifact_is_unsupported(scanning: AuthRegistry, repo: str) -> None:
    pushed = push_image(
        scanning, repo, "sig", layers=[b"signature"], artifact_type="application/vnd.example.sig"
    )
    worker(scanning, Advisories()).drain()
    record = status(scanning, pushed.digest)
    assert record is not None and record.status == "unsupported"
    assert "artifact" in (record.reason or "")


def test_a_scan_that_keeps_crashing_ends_failed(scanning: AuthRegistry, repo: str) -> None:
    pushed = push_image(scanning, repo, "crash", layers=[b"crash" + os.urandom(16)])
    ran = worker(scanning, Advisories()).drain()  # no backoff: every attempt runs now
    assert ran == 5
    record = status(scanning, pushed.digest)
    assert record is not None and record.status == "failed"
    assert "disk on fire" in (record.reason or "")


def test_a_scan_whose_worker_always_dies_ends_failed(scanning: AuthRegistry, repo: str) -> None:
    pushed = push_image(scanning, repo, "oom", layers=[os.urandom(64)])
    for _ in range(5):  # each attempt's worker is killed mid-scan: its lease runs out
        with scanning.db.session(write=True) as conn:
            assert jobs.claim(conn, "doomed", ["scan"], lease_seconds=0.01) is not None
            scans.set_status(conn, pushed.digest, "scanning")
        time.sleep(0.05)
    assert worker(scanning, Advisories()).drain() == 0
    record = status(scanning, pushed.digest)
    assert record is not None and record.status == "failed"
    assert "stopped before finishing" in (record.reason or "")


def test_rematch_keeps_first_seen_and_reports_only_new(scanning: AuthRegistry, repo: str) -> None:
    pushed = push_image(scanning, repo, "v1", layers=[os.urandom(64)])
    advisories = Advisories([OPENSSL])
    worker(scanning, advisories).drain()
    with scanning.db.session() as conn:
        [before] = results.load_findings(conn, pushed.digest)
    time.sleep(0.01)
    advisories.known[:] = [OPENSSL, REQUESTS]  # an import added one advisory
    with scanning.db.session(write=True) as conn:
        assert scans.enqueue_rematch(conn) is not None
        assert scans.enqueue_rematch(conn) is None  # one rematch is enough
    worker(scanning, advisories).drain()
    with scanning.db.session() as conn:
        after = {f.finding.advisory_id: f for f in results.load_findings(conn, pushed.digest)}
        inventory = results.load_inventory(conn, pushed.digest)
    assert set(after) == {"CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"}
    assert after["CVE-2024-0001"].first_seen_at == before.first_seen_at
    assert after["GHSA-aaaa-bbbb-cccc"].first_seen_at > before.first_seen_at
    assert inventory is not None and len(inventory.packages) == 2  # no layer was read again
    advisories.known[:] = [REQUESTS]  # the openssl advisory was withdrawn
    with scanning.db.session(write=True) as conn:
        scans.enqueue_rematch(conn)
    worker(scanning, advisories).drain()
    with scanning.db.session() as conn:
        remaining = [f.finding.advisory_id for f in results.load_findings(conn, pushed.digest)]
    assert remaining == ["GHSA-aaaa-bbbb-cccc"]


def test_no_scan_is_queued_when_scanning_on_push_is_off(
    backend: str, make_auth_registry: Callable[..., AuthRegistry]
) -> None:
    registry = make_auth_registry(backend, scan_on_push=False)
    repo = registry.new_project("private") + "/app"
    pushed = push_image(registry, repo, "v1", layers=[os.urandom(64)])
    assert status(registry, pushed.digest) is None
    assert live_jobs(registry.db, f"scan:{pushed.digest}") == []
