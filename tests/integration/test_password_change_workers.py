"""A password changed through REST stops working on /v2 Basic auth in every worker
within the epoch bound.

Each worker process keeps its own Basic-auth cache; the credentials epoch in the database
is what tells all of them. The worker that made the change knows at once; the other reads
the epoch at most ``MAX_AGE_SECONDS`` late, so every request sent that long after the
change must fail, whichever worker answers it (fresh connections spread requests over
both).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.auth.epoch import MAX_AGE_SECONDS
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


def statuses(
    server: LiveServer, password: str, times: int = 12, sent_from: float = 0.0
) -> set[int]:
    """Status of GET /v2/ with Basic auth, each on a new connection (any worker answers);
    only requests sent at ``sent_from`` (``time.monotonic()``) or later are counted."""
    found: set[int] = set()
    counted = 0
    while counted < times:
        sent = time.monotonic()
        status = httpx.get(
            server.url + "/v2/", auth=("carol", password), timeout=10, trust_env=False
        ).status_code
        if sent >= sent_from:
            found.add(status)
            counted += 1
    return found


def test_old_password_fails_on_basic_auth_in_every_worker_within_the_bound(
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
    bound = time.monotonic() + MAX_AGE_SECONDS  # the change was committed before the 204

    # Fewer than login_max_failures (10), so the account is not paused (429) by this test:
    # a refused login costs Argon2 (~0.2 s), so at most a couple are sent inside the bound.
    assert statuses(two_workers, OLD, times=5, sent_from=bound) == {401}
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
