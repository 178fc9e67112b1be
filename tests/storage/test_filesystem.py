from pathlib import Path

import pytest

from dockyard.storage import StorageError
from dockyard.storage.filesystem import FilesystemStore
from tests.storage.conformance import upload


@pytest.fixture
def store(tmp_path: Path) -> FilesystemStore:
    return FilesystemStore(tmp_path)


def test_local_path_is_offered_for_zero_copy(store: FilesystemStore) -> None:
    upload_id, digest = upload(store, b"payload")
    assert store.local_path(digest) is None
    store.commit(upload_id, digest)
    path = store.local_path(digest)
    assert path is not None and path.read_bytes() == b"payload"
    assert store.root in path.parents


def test_no_temporary_files_are_left_behind(store: FilesystemStore, tmp_path: Path) -> None:
    upload_id, digest = upload(store, b"payload")
    store.commit(upload_id, digest)
    assert list((tmp_path / "uploads").iterdir()) == []
    files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert files == [store.local_path(digest)]


def test_files_that_are_not_blobs_are_not_listed(store: FilesystemStore, tmp_path: Path) -> None:
    upload_id, digest = upload(store, b"payload")
    store.commit(upload_id, digest)
    (tmp_path / "blobs" / "sha256" / "zz").mkdir()
    (tmp_path / "blobs" / "sha256" / "zz" / "notes.txt").write_text("x")
    (tmp_path / "blobs" / "md5").mkdir()
    (tmp_path / "uploads" / "partial.tmp").write_text("x")
    assert list(store.iter_digests()) == [digest]
    assert list(store.iter_uploads()) == []
    strays = sorted(store.iter_strays())
    assert strays == ["blobs/sha256/zz/notes.txt", "uploads/partial.tmp"]
    for name in strays:
        store.delete_stray(name)
    assert list(store.iter_strays()) == []
    assert list(store.iter_digests()) == [digest]


def test_only_debris_can_be_deleted_as_debris(store: FilesystemStore, tmp_path: Path) -> None:
    upload_id, digest = upload(store, b"payload")
    store.commit(upload_id, digest)
    session, _ = upload(store, b"open")
    (tmp_path / "dockyard.db").write_text("precious")
    blob = f"blobs/sha256/{digest.hex[:2]}/{digest.hex}"
    for name in (blob, f"uploads/{session}", "dockyard.db", "../x", "blobs/../dockyard.db"):
        with pytest.raises(StorageError):
            store.delete_stray(name)
    assert store.stat(digest) == 7 and store.upload_size(session) == 4
    assert (tmp_path / "dockyard.db").exists()
