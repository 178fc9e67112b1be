"""A password changed through REST stops working on /v2 Basic auth at once, in every worker.

Each worker process keeps its own Basic-auth cache; the credentials epoch in the database
is what tells all of them, so the old password must fail on the very next request,
whichever worker answers it (fresh connections spread requests over both).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

OLD = "the-old-long-password"
NEW = "the-new-long-password"


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(
        "dockyard", tmp_path_factory.mktemp("two-workers"), "", auth="token", workers=2
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log()


def statuses(server: LiveServer, password: str, times: int = 12) -> set[int]:
    """Status of GET /v2/ with Basic auth, each on a new connection (any worker answers)."""
    return {
        httpx.get(
            server.url + "/v2/", auth=("carol", password), timeout=10, trust_env=False
        ).status_code
        for _ in range(times)
    }


def test_old_password_fails_on_basic_auth_in_every_worker_at_once(
    two_workers: LiveServer, tmp_path: Path
) -> None:
    two_workers.cli("user", "create", "carol", "--email", "c@example.com", "--password", OLD)
    issued = json.loads(
        two_workers.cli(
            "token", "create", "personal", "--user", "carol", "--scope", "api", "-o", "json"
        )
    )
    assert statuses(two_workers, OLD) == {200}  # every worker has the old login cached now

    changed = httpx.put(
        two_workers.url + "/api/v1/user/password",
        json={"current_password": OLD, "new_password": NEW},
        headers={"PRIVATE-TOKEN": issued["token"]},
        timeout=10,
        trust_env=False,
    )
    assert changed.status_code == 204, changed.text

    # Fewer than login_max_failures (10), so the account is not paused (429) by this test.
    assert statuses(two_workers, OLD, times=6) == {401}
    assert statuses(two_workers, NEW) == {200}
    for password, status in ((OLD, 401), (NEW, 200)):
        token = httpx.get(
            two_workers.url + "/jwt/auth",
            params={"service": "dockyard"},
            auth=("carol", password),
            timeout=10,
            trust_env=False,
        )
        assert token.status_code == status, token.text
