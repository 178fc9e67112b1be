"""The last line of the storage limit: the check inside the transaction that links a blob
or stores a manifest. A limit set by another process (the CLI) is not in this process's
cache yet, so the pre-checks let the push through; the commit still refuses it, exactly
at the limit, and leaves no row pointing at the bytes."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event

from dockyard.admin import accounts
from dockyard.admin import usage as admin_usage
from dockyard.db.engine import Database
from dockyard.db.queries import blobs as blob_rows
from dockyard.oci.digest import parse_digest
from dockyard.oci.errors import Code, RegistryError
from dockyard.registry.quota import Quota
from dockyard.registry.uploads import Uploads
from dockyard.storage.filesystem import FilesystemStore


@pytest.fixture
def parts(
    backend: str, migrated_database: Callable[[str], Database], tmp_path: Path
) -> tuple[Database, Uploads, str]:
    db = migrated_database(backend)
    group = f"g{uuid.uuid4().hex[:8]}"
    accounts.create_group(db, group)
    accounts.create_project(db, f"{group}/app")
    quota = Quota(db, ttl=3600)  # the pre-checks see no limit for an hour
    return db, Uploads(db, FilesystemStore(tmp_path / "data"), quota), f"{group}/app"


def upload(uploads: Uploads, repository: str, data: bytes) -> tuple[object, str]:
    status = uploads.start(repository)
    receiver = uploads.receiver(status)
    receiver.write(data)
    receiver.close()
    return uploads.status(repository, status.id), "sha256:" + hashlib.sha256(data).hexdigest()


def test_the_commit_refuses_what_the_cached_pre_checks_let_through(parts) -> None:
    db, uploads, project = parts
    first, first_digest = upload(uploads, f"{project}/api", b"a" * 700)
    second, second_digest = upload(uploads, f"{project}/web", b"b" * 301)
    admin_usage.set_project_limit(db, project, 1000, "cli")  # another process; no changed()
    assert uploads.finish(first, parse_digest(first_digest)) == 700
    with pytest.raises(RegistryError) as refused:
        uploads.finish(second, parse_digest(second_digest))
    assert refused.value.code == Code.DENIED
    assert refused.value.message == f"quota exceeded: 700 B used of 1000 B (project {project})"
    with db.session() as conn:
        assert blob_rows.find(conn, second_digest) is None  # no row points at the bytes
    assert uploads.store.stat(parse_digest(second_digest)) is None  # the bytes never moved
    assert uploads.store.upload_size(second.id) == 301  # the session is as it was
    assert admin_usage.project_usage(db, project).used_bytes == 700


def test_a_changed_limit_reaches_the_pre_checks_at_once(parts) -> None:
    db, uploads, project = parts
    uploads.start(f"{project}/api")  # reads which paths have limits: none
    admin_usage.set_project_limit(db, project, 0, "api")
    uploads.start(f"{project}/api")  # the cache still says: no limit
    uploads.quota.changed()  # what the REST API does after setting a limit
    with pytest.raises(RegistryError, match="quota exceeded: 0 B used of 0 B"):
        uploads.start(f"{project}/api")


def test_no_limit_above_a_repository_costs_no_query(parts) -> None:
    db, uploads, project = parts
    other = project.split("/")[0] + "-other"
    accounts.create_group(db, other)
    accounts.create_project(db, f"{other}/app")
    admin_usage.set_project_limit(db, f"{other}/app", 10, "api")
    quota = uploads.quota
    assert not quota.surely_unlimited(f"{project}/api")  # nothing read yet
    statements: list[str] = []
    listen = lambda *args: args[2].startswith("SELECT") and statements.append(args[2])  # noqa: E731
    for engine in db.engines:
        event.listen(engine, "before_cursor_execute", listen)
    try:
        assert quota.room(f"{project}/api") is None  # reads the limited paths once
        assert len(statements) == 1
        assert quota.surely_unlimited(f"{project}/api")
        assert quota.room(f"{project}/api/deep") is None
        assert len(statements) == 1  # the cached list answered
        assert not quota.surely_unlimited(f"{other}/app/api")
        assert quota.room(f"{other}/app/api").bytes == 10
    finally:
        for engine in db.engines:
            event.remove(engine, "before_cursor_execute", listen)
