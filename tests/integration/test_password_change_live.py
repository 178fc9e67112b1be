"""A password change reaches every worker process at once: with two HTTP workers, each
holding the old password in its Basic-auth cache, the next request to either is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import LiveServer, fail_on_traceback

pytestmark = pytest.mark.integration

OLD, NEW = "first-long-password-1", "second-long-password-2"


@pytest.fixture
def two_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.setenv("DOCKYARD_TEST_WORKERS", "2")
    server = LiveServer("dockyard", tmp_path, "", auth="token")
    server.start()
    try:
        yield server
    finally:
        server.stop()
    fail_on_traceback(server.log(), "in the two-worker server")


def version_check(server: LiveServer, password: str) -> int:
    """GET /v2/ on a fresh connection, so requests spread over both workers."""
    with httpx.Client(base_url=server.url, auth=("carol", password), timeout=10) as client:
        return client.get("/v2/").status_code


def test_old_password_fails_on_every_worker_right_after_a_change(two_workers: LiveServer) -> None:
    server = two_workers
    server.cli("user", "create", "carol", "--email", "c@example.com", "--password", OLD)
    token = json.loads(
        server.cli("token", "create", "personal", "--user", "carol", "--scope", "api",
                   "--name", "rest", "-o", "json")
    )["token"]
    assert {version_check(server, OLD) for _ in range(12)} == {200}  # both caches warm

    changed = httpx.put(
        f"{server.url}/api/v1/user/password",
        json={"current_password": OLD, "new_password": NEW},
        headers={"PRIVATE-TOKEN": token},
        timeout=10,
    )
    assert changed.status_code == 204, changed.text

    # Six tries (fewer than the lockout threshold), spread over both workers.
    assert {version_check(server, OLD) for _ in range(6)} == {401}
    assert {version_check(server, NEW) for _ in range(4)} == {200}
