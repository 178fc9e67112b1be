"""Caches across replicas: a revocation on one replica is refused there at once and on
another within the epoch bound (``dockyard.auth.epoch.MAX_AGE_SECONDS``), with Redis
(``redis_url``), without it, and with Redis down; rule caches are invalidated through
Redis at once. Real Redis at 127.0.0.1:6379, a fresh key prefix per test."""

from __future__ import annotations

import base64
import logging
import socket
import uuid
from collections.abc import Iterator

import pytest
import redis

from dockyard.admin import tokens as admin_tokens
from dockyard.admin.accounts import create_group, create_project, find_project
from dockyard.admin.tag_protection import TagProtection
from dockyard.admin.tag_rules import TagRules
from dockyard.admin.vuln_policy import UNKNOWN, PullPolicies
from dockyard.db.engine import Database
from dockyard.db.queries import sessions
from dockyard.shared import attach
from dockyard.shared.local import LocalState
from dockyard.shared.redis_state import RedisState
from tests.support.epoch_clock import past_the_epoch_bound
from tests.support.replicas import Replica, Replicas

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    name = f"dockyard-test-{uuid.uuid4().hex[:12]}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{name}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def revoke_through(replica: Replica, pat: str, token_id: int) -> None:
    resp = replica.client.delete(
        f"/api/v1/user/tokens/{token_id}", headers={"Authorization": f"Bearer {pat}"}
    )
    assert resp.status_code == 204, resp.text


def basic_v2(replica: Replica, username: str, secret: str) -> int:
    raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return replica.client.get("/v2/", headers={"Authorization": f"Basic {raw}"}).status_code


def revocation_is_refused_within_the_bound(group: Replicas, monkeypatch) -> None:
    a, b = group.members
    issued = admin_tokens.create_personal(group.db, "admin", "ci", ["api", "read_registry"])
    bearer = a.token("admin", issued.secret)
    for _ in range(3):  # both have checked the token and cached the answer
        for replica in (a, b):
            assert replica.v2(bearer) == 200
            assert basic_v2(replica, "admin", issued.secret) == 200
    revoke_through(a, issued.secret, issued.record.id)
    assert a.v2(bearer) == 401  # where it was revoked: the very next request
    assert basic_v2(a, "admin", issued.secret) == 401
    past_the_epoch_bound(monkeypatch)  # b's reading of the epoch is too old to trust now
    assert b.v2(bearer) == 401
    assert basic_v2(b, "admin", issued.secret) == 401


def test_without_redis_a_revocation_is_refused_on_every_replica_within_the_bound(
    make_replicas, backend, monkeypatch
) -> None:
    revocation_is_refused_within_the_bound(make_replicas(backend), monkeypatch)


def test_with_redis_a_revocation_is_refused_on_every_replica_within_the_bound(
    make_replicas, backend, prefix, monkeypatch
) -> None:
    group = make_replicas(backend, redis_url=REDIS_URL, redis_key_prefix=prefix)
    revocation_is_refused_within_the_bound(group, monkeypatch)
    with group.db.session() as conn:
        epoch = sessions.auth_epoch(conn)
    mirrored = redis.Redis.from_url(REDIS_URL).get(f"{prefix}auth:epoch")
    assert mirrored is not None and int(mirrored) == epoch  # the check went through Redis


def test_with_redis_down_replicas_fall_back_to_the_database(
    make_replicas, backend, closed_port, monkeypatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dockyard.shared")
    group = make_replicas(backend, redis_url=f"redis://127.0.0.1:{closed_port}/0")
    revocation_is_refused_within_the_bound(group, monkeypatch)
    warnings = [r for r in caplog.records if r.name == "dockyard.shared"]
    assert warnings and "using the database instead" in warnings[0].getMessage()
    assert len(warnings) <= 2  # once per outage per replica, not once per request


def test_the_epoch_is_read_from_redis_and_never_lowered(prefix) -> None:
    state = RedisState(REDIS_URL, prefix)
    reads: list[int] = []

    def from_database() -> int:
        reads.append(1)
        return 7

    assert state.epoch(from_database) == 7 and len(reads) == 1  # a miss reads the database
    assert state.epoch(from_database) == 7 and len(reads) == 1  # then Redis answers
    state.changed({"auth_epoch": 9})
    assert state.epoch(from_database) == 9 and len(reads) == 1
    state.changed({"auth_epoch": 8})  # a late notice of an older bump changes nothing
    assert state.epoch(from_database) == 9
    state.close()


def test_a_dead_redis_costs_no_request_a_timeout(closed_port) -> None:
    state = RedisState(f"redis://127.0.0.1:{closed_port}/0")
    assert state.epoch(lambda: 3) == 3
    assert state.generation("protection") is None  # unknown: caches use their lifetime
    state.changed({"protection": None, "auth_epoch": 4})  # never raises
    state.close()


def two_processes(
    backend: str, migrated_database, prefix: str
) -> tuple[Database, RedisState, Database, RedisState]:
    """Two processes' own engines and Redis clients over one database."""
    first = migrated_database(backend)
    second = Database(first.url)
    return (
        first,
        attach(first, RedisState(REDIS_URL, prefix)),
        second,
        attach(second, RedisState(REDIS_URL, prefix)),
    )


def test_a_protection_rule_reaches_another_replicas_cache_at_once(
    backend, migrated_database, prefix
) -> None:
    db_a, shared_a, db_b, shared_b = two_processes(backend, migrated_database, prefix)
    group = f"g{uuid.uuid4().hex[:8]}"
    create_group(db_a, group)
    create_project(db_a, f"{group}/app", "private")
    on_a = TagProtection(db_a, shared=shared_a)
    on_b = TagProtection(db_b, shared=shared_b)
    stale = TagProtection(db_b, shared=LocalState())  # no Redis: the 5 s lifetime only
    assert on_b.rules(f"{group}/app/img") is None and stale.rules(f"{group}/app/img") is None
    TagRules(db_a, on_a).add(find_project(db_a, f"{group}/app"), "v*", None, None, True, 50, "t")
    found = on_b.rules(f"{group}/app/img")
    assert found is not None and [rule.pattern for rule in found.rules] == ["v*"]
    assert stale.rules(f"{group}/app/img") is None  # what Redis saves us from waiting for
    db_b.dispose()


def test_a_pull_policy_reaches_another_replicas_cache_at_once(
    backend, migrated_database, prefix
) -> None:
    db_a, shared_a, db_b, shared_b = two_processes(backend, migrated_database, prefix)
    group = f"g{uuid.uuid4().hex[:8]}"
    create_group(db_a, group)
    create_project(db_a, f"{group}/app", "private")
    on_a = PullPolicies(db_a, shared_a)
    on_b = PullPolicies(db_b, shared_b)
    assert on_b.guard(f"{group}/app/img") is None
    on_a.update(find_project(db_a, f"{group}/app"), {"block_severity": "critical"}, "t")
    guard = on_b.guard(f"{group}/app/img")
    assert guard is not None and guard.policy.block_severity == "critical"
    db_b.dispose()


def test_a_cached_pull_policy_is_answered_without_io_only_when_no_redis_is_asked(
    backend, migrated_database, prefix
) -> None:
    """``cached_guard`` runs on a server's event loop: it answers from memory, and says
    UNKNOWN whenever the answer needs a query or a Redis round trip."""
    db = migrated_database(backend)
    group = f"g{uuid.uuid4().hex[:8]}"
    create_group(db, group)
    create_project(db, f"{group}/app", "private")
    name = f"{group}/app/img"
    alone = PullPolicies(db, LocalState())
    assert alone.cached_guard(name) is UNKNOWN  # not loaded yet
    assert alone.guard(name) is None
    assert alone.cached_guard(name) is None  # the cached "no policy", no query
    alone.update(find_project(db, f"{group}/app"), {"block_severity": "critical"}, "t")
    assert alone.cached_guard(name) is UNKNOWN  # forgotten on change
    loaded = alone.guard(name)
    assert loaded is not None and alone.cached_guard(name) is loaded
    with_redis = PullPolicies(db, RedisState(REDIS_URL, prefix))
    assert with_redis.guard(name) is not None
    assert with_redis.cached_guard(name) is UNKNOWN  # another replica may have changed it
