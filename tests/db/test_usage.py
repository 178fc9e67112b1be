"""dockyard.db.queries.usage: counters that count each digest once per scope, kept in the
writer's transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete

from dockyard.admin import accounts
from dockyard.db.engine import Database
from dockyard.db.models import Manifest, RepositoryBlob
from dockyard.db.queries import (
    blobs,
    gc,
    management,
    manifests,
    repositories,
    usage,
    usage_limits,
)


@pytest.fixture(scope="module")
def db(backend: str, migrated_database: Callable[[str], Database]) -> Database:
    return migrated_database(backend)


@pytest.fixture
def project(db: Database) -> str:
    group = f"g{uuid.uuid4().hex[:8]}"
    accounts.create_group(db, group)
    accounts.create_group(db, f"{group}/sub")
    path = f"{group}/sub/app"
    accounts.create_project(db, path)
    return path


NOW = datetime.now(UTC)  # when the deleted repository's blobs come up for collection


def digest() -> str:
    return "sha256:" + uuid.uuid4().hex * 2


def push_blob(db: Database, repository: str, blob: str, size: int, **kw: str) -> None:
    with db.session(write=True) as conn:
        blobs.record_and_link(conn, repositories.ensure(conn, repository), blob, size, **kw)


def store_manifest(db: Database, repository: str, payload: bytes, name: str, **kw: str) -> None:
    with db.session(write=True) as conn:
        manifests.store(
            conn,
            repositories.ensure(conn, repository),
            digest=name,
            media_type="application/vnd.oci.image.manifest.v1+json",
            artifact_type=None,
            subject_digest=None,
            config_digest=None,
            annotations=None,
            payload=payload,
            references={},
            total_size=len(payload),
            platforms=None,
            **kw,
        )


def used(db: Database, path: str) -> dict[str, int]:
    """Bytes used by the repository ``path`` or by the project and groups above it."""
    with db.session() as conn:
        scopes = usage.owner_scopes(conn, path)
        rid = repositories.find_id(conn, path)
        if rid is not None:
            scopes.append((usage.REPOSITORY, rid))
        found = usage_limits.counters(conn, scopes)
    return {kind + str(i): c.used for (kind, i), c in found.items()}


def totals(db: Database, project: str) -> list[int]:
    """[project, sub-group, group] usage."""
    with db.session() as conn:
        found = usage_limits.counters(conn, usage.owner_scopes(conn, project))
    ordered = sorted(found.items(), key=lambda item: (item[0][0] != "p", -item[0][1]))
    return [c.used for _s, c in ordered]


def test_a_layer_shared_by_two_repositories_counts_once_per_scope(
    db: Database, project: str
) -> None:
    layer, other = digest(), digest()
    push_blob(db, f"{project}/api", layer, 1000)
    push_blob(db, f"{project}/web", layer, 1000)
    push_blob(db, f"{project}/web", other, 10)
    assert totals(db, project) == [1010, 1010, 1010]
    assert sum(used(db, f"{project}/api").values()) - 3 * 1010 == 1000
    with db.session(write=True) as conn:
        assert blobs.unlink(conn, repositories.find_id(conn, f"{project}/api"), layer)
    assert totals(db, project) == [1010, 1010, 1010]  # web still holds the layer
    with db.session(write=True) as conn:
        assert blobs.unlink(conn, repositories.find_id(conn, f"{project}/web"), layer)
        assert not blobs.unlink(conn, repositories.find_id(conn, f"{project}/web"), layer)
    assert totals(db, project) == [10, 10, 10]


def test_linking_twice_counts_once(db: Database, project: str) -> None:
    layer = digest()
    for _ in range(3):
        push_blob(db, f"{project}/api", layer, 500)
    assert totals(db, project) == [500, 500, 500]
    with db.session() as conn:
        rid = repositories.find_id(conn, f"{project}/api")
        assert usage.holdings(conn, rid) == {layer: (500, 1)}


def test_manifests_count_their_payload_and_go_with_their_delete(db: Database, project: str) -> None:
    name = digest()
    store_manifest(db, f"{project}/api", b"x" * 300, name)
    store_manifest(db, f"{project}/api", b"x" * 300, name)  # idempotent
    store_manifest(db, f"{project}/web", b"x" * 300, name)
    assert totals(db, project) == [300, 300, 300]
    with db.session(write=True) as conn:
        for repository in ("api", "web"):
            rid = repositories.find_id(conn, f"{project}/{repository}")
            found = gc.lock_manifest(conn, rid, name)
            assert found is not None
            gc.delete_manifest(conn, found[0])
    assert totals(db, project) == [0, 0, 0]


def test_a_group_counts_a_digest_once_over_its_projects(db: Database, project: str) -> None:
    sibling = project.rsplit("/", 1)[0] + "/other"
    accounts.create_project(db, sibling)
    layer = digest()
    push_blob(db, f"{project}/api", layer, 700)
    push_blob(db, f"{sibling}/api", layer, 700)
    push_blob(db, f"{sibling}/api", digest(), 1)
    assert totals(db, project) == [700, 701, 701]
    assert totals(db, sibling) == [701, 701, 701]


def test_deleting_a_repository_frees_what_only_it_held(db: Database, project: str) -> None:
    shared, own = digest(), digest()
    push_blob(db, f"{project}/api", shared, 100)
    push_blob(db, f"{project}/web", shared, 100)
    push_blob(db, f"{project}/web", own, 40)
    store_manifest(db, f"{project}/web", b"m" * 5, digest())
    with db.session(write=True) as conn:
        management.delete_repository(conn, repositories.find_id(conn, f"{project}/web"), NOW)
    assert totals(db, project) == [100, 100, 100]
    with db.session(write=True) as conn:
        management.delete_repository(conn, repositories.find_id(conn, f"{project}/api"), NOW)
    assert totals(db, project) == [0, 0, 0]


def test_a_project_created_after_its_images_counts_them(db: Database) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    accounts.create_group(db, group)
    path = f"{group}/late"
    layer = digest()
    push_blob(db, f"{path}/api", layer, 64)
    push_blob(db, f"{path}/api/deep", layer, 64)  # two levels below: still the project's
    push_blob(db, f"{path}/a/b/c", digest(), 9)  # three levels below: no project owns it
    accounts.create_project(db, path)
    assert totals(db, path) == [64, 64]
    accounts.delete_project(db, path)
    with db.session() as conn:
        group_id = usage.owner_scopes(conn, f"{group}/x/y")
        assert group_id == []  # no project, no scopes
        found = usage_limits.counters(conn, [("n", accounts_id(conn, group))])
    assert [c.used for c in found.values()] == [0]


def accounts_id(conn: object, path: str) -> int:
    from dockyard.db.queries import accounts as account_rows

    return account_rows.namespace_by_path(conn, path).id


def test_a_blob_past_a_limit_is_refused_and_nothing_changes(db: Database, project: str) -> None:
    with db.session(write=True) as conn:
        scopes = usage.owner_scopes(conn, project)
        usage_limits.set_limit(conn, scopes[0], 1000)
    push_blob(db, f"{project}/api", digest(), 900, enforce="fit")
    with pytest.raises(usage.QuotaExceeded) as refused:
        push_blob(db, f"{project}/api", digest(), 101, enforce="fit")
    room = refused.value.room
    assert (room.kind, room.path, room.used, room.limit, room.bytes) == (
        "project",
        project,
        900,
        1000,
        100,
    )
    assert refused.value.needed == 101
    assert totals(db, project) == [900, 900, 900]
    push_blob(db, f"{project}/api", digest(), 100, enforce="fit")  # exactly to the limit
    assert totals(db, project) == [1000, 1000, 1000]
    # a manifest is refused only once a scope is over its limit
    store_manifest(db, f"{project}/api", b"m" * 50, digest(), enforce="under")
    with pytest.raises(usage.QuotaExceeded):
        store_manifest(db, f"{project}/api", b"n" * 50, digest(), enforce="under")
    assert totals(db, project) == [1050, 1050, 1050]


def test_a_blob_the_scope_holds_already_is_free(db: Database, project: str) -> None:
    group = project.split("/")[0]
    layer = digest()
    push_blob(db, f"{project}/api", layer, 800)
    with db.session(write=True) as conn:
        group_scope = ("n", accounts_id(conn, group))
        usage_limits.set_limit(conn, group_scope, 800)
    push_blob(db, f"{project}/web", layer, 800, enforce="fit")  # dedupe: costs nothing
    with db.session() as conn:
        assert usage_limits.room(conn, f"{project}/web", layer) is None
        left = usage_limits.room(conn, f"{project}/web")
        assert (left.kind, left.path, left.bytes) == ("group", group, 0)
        assert usage_limits.limited_paths(conn) >= {group}
        usage_rows_free = usage_limits.room(conn, "nobody/owns/this/one")
    assert usage_rows_free is None
    with db.session(write=True) as conn:
        usage_limits.set_limit(conn, group_scope, None)
        assert group not in usage_limits.limited_paths(conn)


def test_a_batch_of_removals_counts_like_one_by_one(db: Database, project: str) -> None:
    """What garbage collection calls after deleting links and manifests in bulk."""
    shared, own, manifest = digest(), digest(), digest()
    push_blob(db, f"{project}/api", shared, 100)
    push_blob(db, f"{project}/web", shared, 100)
    push_blob(db, f"{project}/web", own, 10)
    store_manifest(db, f"{project}/web", b"m" * 7, manifest)
    with db.session(write=True) as conn:
        api = repositories.find_id(conn, f"{project}/api")
        web = repositories.find_id(conn, f"{project}/web")
        conn.execute(delete(RepositoryBlob).where(RepositoryBlob.repository_id == web))
        conn.execute(delete(Manifest).where(Manifest.repository_id == web))
        usage.on_unlink_many(conn, [(web, shared), (web, own), (web, manifest)])
    assert totals(db, project) == [100, 100, 100]
    with db.session() as conn:
        assert usage.holdings(conn, web) == {}
        assert usage.holdings(conn, api) == {shared: (100, 1)}
