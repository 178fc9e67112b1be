"""Upload sessions across restarts, purges and failed requests (SQLite + filesystem)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dockyard.db.engine import Database
from dockyard.db.queries import uploads as upload_rows
from dockyard.oci.digest import parse_digest
from dockyard.oci.errors import Code, RegistryError
from dockyard.registry.blobs import Blobs
from dockyard.registry.uploads import Uploads
from dockyard.storage.filesystem import FilesystemStore


@pytest.fixture
def parts(tmp_path: Path) -> tuple[Database, FilesystemStore]:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    db.migrate()
    return db, FilesystemStore(tmp_path / "data")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def send(uploads: Uploads, repository: str, upload_id: str, data: bytes) -> int:
    receiver = uploads.receiver(uploads.status(repository, upload_id))
    receiver.write(data)
    return receiver.close()


def test_a_restarted_process_finishes_by_rehashing(parts) -> None:
    db, store = parts
    before = Uploads(db, store)
    session = before.start("ns/app")
    send(before, "ns/app", session.id, b"first half ")
    after = Uploads(db, store)  # a new process: no running hash in memory
    assert after.status("ns/app", session.id).size == 11
    send(after, "ns/app", session.id, b"second half")
    data = b"first half second half"
    assert after.finish(after.status("ns/app", session.id), parse_digest(digest_of(data))) == 22
    assert Blobs(db, store).stat("ns/app", parse_digest(digest_of(data))).size == 22


def test_a_wrong_digest_leaves_the_session_open_and_no_blob(parts) -> None:
    db, store = parts
    uploads = Uploads(db, store)
    session = uploads.start("ns/app")
    send(uploads, "ns/app", session.id, b"payload")
    wrong = parse_digest(digest_of(b"other"))
    with pytest.raises(RegistryError) as caught:
        uploads.finish(uploads.status("ns/app", session.id), wrong)
    assert caught.value.code is Code.DIGEST_INVALID
    assert store.stat(wrong) is None
    right = parse_digest(digest_of(b"payload"))
    assert uploads.finish(uploads.status("ns/app", session.id), right) == 7


def test_a_failed_request_changes_nothing(parts) -> None:
    db, store = parts
    uploads = Uploads(db, store)
    session = uploads.start("ns/app")
    send(uploads, "ns/app", session.id, b"kept")
    receiver = uploads.receiver(uploads.status("ns/app", session.id))
    receiver.write(b"lost in transit")
    receiver.fail()
    assert uploads.status("ns/app", session.id).size == 4
    digest = parse_digest(digest_of(b"kept"))
    assert uploads.finish(uploads.status("ns/app", session.id), digest) == 4


def test_sessions_belong_to_their_repository(parts) -> None:
    db, store = parts
    uploads = Uploads(db, store)
    session = uploads.start("ns/app")
    for repository, upload_id in [("ns/other", session.id), ("ns/app", "not-a-uuid")]:
        with pytest.raises(RegistryError) as caught:
            uploads.status(repository, upload_id)
        assert caught.value.code is Code.BLOB_UPLOAD_UNKNOWN


def test_idle_sessions_are_purged(parts, tmp_path: Path) -> None:
    db, store = parts
    uploads = Uploads(db, store)
    idle = uploads.start("ns/app")
    send(uploads, "ns/app", idle.id, b"abandoned")
    assert uploads.purge_idle(timedelta(hours=1)) == 0
    assert uploads.purge_idle(timedelta(seconds=-1)) == 1
    with pytest.raises(RegistryError):
        uploads.status("ns/app", idle.id)
    assert list((tmp_path / "data" / "uploads").iterdir()) == []


def test_an_idle_session_another_process_has_leased_is_not_purged(parts) -> None:
    """The purge reads idle sessions, then deletes each only if it is still idle and
    unleased: a replica may take the session up in between."""
    db, store = parts
    uploads = Uploads(db, store)
    resumed = uploads.start("ns/app")
    send(uploads, "ns/app", resumed.id, b"resumed later")
    now = datetime.now(UTC)
    until = now + timedelta(minutes=1)
    with db.session(write=True) as conn:
        assert upload_rows.take_lease(conn, resumed.id, "replica-b", now, until)
    assert uploads.purge_idle(timedelta(seconds=-1)) == 0
    assert uploads.status("ns/app", resumed.id).size == 13
    with db.session(write=True) as conn:
        upload_rows.release_lease(conn, resumed.id, "replica-b")
    assert uploads.purge_idle(timedelta(seconds=-1)) == 1
