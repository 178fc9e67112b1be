"""Reading and deleting blobs as one repository sees them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dockyard.db.engine import Database
from dockyard.db.queries import blobs as blob_rows
from dockyard.db.queries import gc as gc_rows
from dockyard.db.queries import repositories
from dockyard.db.read_cache import ReadCache
from dockyard.oci.digest import Digest
from dockyard.oci.errors import Code, RegistryError
from dockyard.storage import BlobStore


@dataclass(frozen=True, slots=True)
class BlobInfo:
    digest: Digest
    size: int


DAY = timedelta(days=1)


def _unknown(digest: Digest) -> RegistryError:
    return RegistryError(Code.BLOB_UNKNOWN, detail={"digest": str(digest)})


class Blobs:
    def __init__(self, db: Database, store: BlobStore, gc_delay: timedelta = DAY) -> None:
        self._db = db
        self._store = store
        self._gc_delay = gc_delay
        self._sizes = ReadCache(db.data_version)  # HEADs repeat: answered from memory

    def stat(self, repository: str, digest: Digest) -> BlobInfo:
        """The blob as ``repository`` may serve it, or BLOB_UNKNOWN."""
        size = self._sizes.get((repository, str(digest)), lambda: self._size(repository, digest))
        if size is None:
            raise _unknown(digest)
        return BlobInfo(digest, size)

    def _size(self, repository: str, digest: Digest) -> int | None:
        with self._db.session() as session:
            return blob_rows.linked_size(session, repository, str(digest))

    def local_file(self, digest: Digest) -> tuple[Path, os.stat_result] | None:
        """The blob's own file and its stat, when the store is local and has it: a pull
        sends it zero-copy (asked only by GET; a HEAD needs no file system call)."""
        path = self._store.local_path(digest)
        if path is None:
            return None
        try:
            return path, os.stat(path)
        except FileNotFoundError:
            return None

    def read(self, digest: Digest, start: int, length: int) -> Iterator[bytes]:
        return self._store.read(digest, start, length)

    def redirect_url(self, digest: Digest) -> str | None:
        """Where the client may fetch the blob itself, if the store offers that."""
        return self._store.redirect_url(digest)

    def delete(self, repository: str, digest: Digest) -> None:
        """Unlink the blob from the repository; the bytes go when nothing links them (GC)."""

        def unlink(session: object) -> None:
            repository_id = repositories.find_id(session, repository)
            if repository_id is None or not blob_rows.unlink(session, repository_id, str(digest)):
                raise _unknown(digest)
            after = datetime.now(UTC) + self._gc_delay
            gc_rows.review_blobs(session, [str(digest)], after, "blob_deleted")

        self._db.transact(unlink)
