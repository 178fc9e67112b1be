"""The contract every BlobStore driver must keep; each driver runs it unchanged.

A driver's test module subclasses ``BlobStoreContract`` and provides a ``store``
fixture. Nothing here knows which driver it is talking to.
"""

from __future__ import annotations

import hashlib
import threading
import uuid

import pytest

from dockyard.oci.digest import Digest, digest_bytes
from dockyard.storage import BlobStore, StorageError


def new_id() -> str:
    return str(uuid.uuid4())


def upload(store: BlobStore, data: bytes, pieces: int = 1) -> tuple[str, Digest]:
    upload_id = new_id()
    store.begin_upload(upload_id)
    step = max(1, len(data) // pieces)
    offset = 0
    while offset < len(data):
        writer = store.append(upload_id, offset)
        writer.write(data[offset : offset + step])
        writer.close()
        offset += len(data[offset : offset + step])
    return upload_id, digest_bytes(data)


class BlobStoreContract:
    def test_missing_blob(self, store: BlobStore) -> None:
        digest = digest_bytes(b"never stored")
        assert store.stat(digest) is None
        store.delete(digest)  # deleting nothing is fine

    def test_commit_makes_the_blob_visible(self, store: BlobStore) -> None:
        data = b"hello world" * 1000
        upload_id, digest = upload(store, data, pieces=3)
        assert store.stat(digest) is None
        assert store.upload_size(upload_id) == len(data)
        store.commit(upload_id, digest)
        assert store.stat(digest) == len(data)
        assert b"".join(store.read(digest)) == data
        with pytest.raises(StorageError):
            store.upload_size(upload_id)  # the session ended

    def test_ranged_reads(self, store: BlobStore) -> None:
        data = bytes(range(256)) * 50
        upload_id, digest = upload(store, data)
        store.commit(upload_id, digest)
        assert b"".join(store.read(digest, 10, 20)) == data[10:30]
        assert b"".join(store.read(digest, len(data) - 5)) == data[-5:]
        assert b"".join(store.read(digest, 0, 0)) == b""

    def test_reads_are_chunked(self, store: BlobStore) -> None:
        data = b"x" * (9 * 1024 * 1024 + 7)  # more than two chunks of either driver
        upload_id, digest = upload(store, data)
        store.commit(upload_id, digest)
        chunks = list(store.read(digest))
        assert len(chunks) > 1
        assert max(len(c) for c in chunks) <= 4 * 1024 * 1024
        assert b"".join(chunks) == data

    def test_append_must_continue_at_the_end(self, store: BlobStore) -> None:
        upload_id, _ = upload(store, b"abc")
        with pytest.raises(StorageError):
            store.append(upload_id, 1)
        with pytest.raises(StorageError):
            store.append(upload_id, 10)
        writer = store.append(upload_id, 3)
        writer.write(b"def")
        writer.close()
        assert hashlib.sha256(b"".join(store.read_upload(upload_id))).digest() == (
            hashlib.sha256(b"abcdef").digest()
        )

    def test_truncate_drops_a_failed_tail(self, store: BlobStore) -> None:
        upload_id, _ = upload(store, b"abcdef")
        store.truncate(upload_id, 2)
        assert store.upload_size(upload_id) == 2
        assert b"".join(store.read_upload(upload_id)) == b"ab"

    def test_truncate_while_appending_and_after_abort(self, store: BlobStore) -> None:
        upload_id, _ = upload(store, b"abc")
        writer = store.append(upload_id, 3)
        writer.write(b"partial")
        store.truncate(upload_id, 3)  # a failed request cuts back before it lets go
        writer.close()
        assert b"".join(store.read_upload(upload_id)) == b"abc"
        store.abort(upload_id)
        store.truncate(upload_id, 0)  # the session ended meanwhile: nothing to cut

    def test_abort_forgets_the_session(self, store: BlobStore) -> None:
        upload_id, digest = upload(store, b"gone")
        store.abort(upload_id)
        store.abort(upload_id)
        with pytest.raises(StorageError):
            store.upload_size(upload_id)
        with pytest.raises(StorageError):
            store.commit(upload_id, digest)
        assert store.stat(digest) is None

    def test_unknown_and_hostile_upload_ids(self, store: BlobStore) -> None:
        for upload_id in (new_id(), "../../etc/passwd", "", "x" * 300):
            with pytest.raises(StorageError):
                store.upload_size(upload_id)
            with pytest.raises(StorageError):
                store.append(upload_id, 0)

    def test_two_writers_on_one_session_cannot_interleave(self, store: BlobStore) -> None:
        upload_id, _ = upload(store, b"")
        first = store.append(upload_id, 0)
        with pytest.raises(StorageError):
            store.append(upload_id, 0)
        first.write(b"one")
        first.close()
        assert store.upload_size(upload_id) == 3

    def test_commit_waits_for_no_writer(self, store: BlobStore) -> None:
        upload_id, digest = upload(store, b"data")
        writer = store.append(upload_id, 4)
        with pytest.raises(StorageError):
            store.commit(upload_id, digest)
        writer.close()
        store.commit(upload_id, digest)
        assert store.stat(digest) == 4

    def test_concurrent_commits_of_one_blob(self, store: BlobStore) -> None:
        data = b"same bytes" * 10_000
        sessions = [upload(store, data)[0] for _ in range(20)]
        digest = digest_bytes(data)
        errors: list[BaseException] = []

        def commit(upload_id: str) -> None:
            try:
                store.commit(upload_id, digest)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=commit, args=(s,)) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert b"".join(store.read(digest)) == data

    def test_delete(self, store: BlobStore) -> None:
        upload_id, digest = upload(store, b"bye")
        store.commit(upload_id, digest)
        store.delete(digest)
        assert store.stat(digest) is None

    def test_iter_digests_lists_committed_blobs_in_digest_order(self, store: BlobStore) -> None:
        assert list(store.iter_digests()) == []
        committed = []
        for n in range(12):
            data = f"blob {n}".encode()
            upload_id = upload(store, data)[0]
            algorithm = "sha512" if n % 3 == 0 else "sha256"
            digest = digest_bytes(data, algorithm)
            store.commit(upload_id, digest)
            committed.append(digest)
        upload(store, b"still uploading")  # a session is not a blob
        listed = list(store.iter_digests())
        assert listed == sorted(committed, key=str)
        store.delete(committed[0])
        assert committed[0] not in list(store.iter_digests())

    def test_iter_uploads_lists_open_sessions(self, store: BlobStore) -> None:
        first, _ = upload(store, b"one")
        second, digest = upload(store, b"two")
        assert set(store.iter_uploads()) == {first, second}
        store.commit(second, digest)
        store.abort(first)
        assert list(store.iter_uploads()) == []

    def test_nothing_the_store_writes_is_debris(self, store: BlobStore) -> None:
        upload_id, digest = upload(store, b"blob")
        store.commit(upload_id, digest)
        upload(store, b"open session")
        assert list(store.iter_strays()) == []
        with pytest.raises(StorageError):
            store.delete_stray("no such thing")

    def test_detach_takes_a_blob_out_at_once_and_purge_deletes_it(self, store: BlobStore) -> None:
        upload_id, digest = upload(store, b"collect me")
        store.commit(upload_id, digest)
        token = store.detach(digest)
        assert token is not None
        assert store.stat(digest) is None and digest not in list(store.iter_digests())
        # the same digest pushed again meanwhile is a new, independent blob
        again, _ = upload(store, b"collect me")
        store.commit(again, digest)
        store.purge(token)
        store.purge(token)  # twice is fine
        assert b"".join(store.read(digest)) == b"collect me"
        assert store.detach(digest_bytes(b"never stored")) is None

    def test_leftover_detached_blobs_are_purged(self, store: BlobStore) -> None:
        for data in (b"one", b"two"):
            upload_id, digest = upload(store, data)
            store.commit(upload_id, digest)
            assert store.detach(digest) is not None  # then a crash: never purged
        assert store.purge_detached() == 2
        assert store.purge_detached() == 0
