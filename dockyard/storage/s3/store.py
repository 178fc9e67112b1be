"""BlobStore on an S3-compatible object store (AWS S3, SeaweedFS, MinIO, Ceph RGW).

See keys.py for the layout, segments.py for upload sessions and assemble.py for
commits. Within one process a session has one writer at a time (a set of held ids,
as flock does for files); across processes and replicas the registry leases the
session in the database before it calls ``append`` or ``commit`` (``remote`` is True).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from botocore.exceptions import ClientError

from dockyard.oci.digest import Digest
from dockyard.storage.base import StorageError, StorageUnavailable
from dockyard.storage.s3.assemble import assemble
from dockyard.storage.s3.client import S3, Target, is_missing
from dockyard.storage.s3.keys import MARKER, Keys
from dockyard.storage.s3.segments import Segment, SegmentWriter, contiguous_size, list_segments


class S3Store:
    remote = True

    def __init__(
        self,
        target: Target,
        prefix: str = "",
        part_size: int = 8 * 1024 * 1024,
        redirect_ttl: int | None = None,
    ) -> None:
        if not target.bucket:
            raise ValueError("storage=s3 needs s3_bucket (DOCKYARD_S3_BUCKET)")
        self.s3 = S3(target)
        self.keys = Keys(prefix)
        self.part_size = part_size
        self._redirect_ttl = redirect_ttl  # None: serve bytes ourselves
        self._writers: dict[str, SegmentWriter | None] = {}  # sessions held in this process
        self._held = threading.Lock()
        self.last_commit = ""  # which assembly path the last commit took (tests, logs)

    def check(self) -> None:
        """HeadBucket: cheap, and fails on every outage (network, keys, bucket)."""
        try:
            self.s3.call("head_bucket")
        except ClientError:  # a 404 here is a missing bucket
            raise StorageUnavailable(
                f"bucket {self.s3.bucket!r} does not exist at {self.s3.target.endpoint or 'AWS'}; "
                "create it or fix s3_bucket"
            ) from None

    # -- blobs -----------------------------------------------------------------------

    def stat(self, digest: Digest) -> int | None:
        try:
            return self._size(self.keys.blob(digest))
        except ClientError:  # only "missing" gets here
            return None

    def _size(self, key: str) -> int:
        """HEAD a key. A HEAD's 404 has no body, so "no such bucket" looks like "no such
        key": a miss is confirmed with HeadBucket, so GC and ``dockyard check`` never take
        a wrong bucket for a store that lost its blobs."""
        try:
            return int(self.s3.call("head_object", Key=key)["ContentLength"])
        except ClientError:
            self.check()
            raise

    def read(self, digest: Digest, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        key = self.keys.blob(digest)
        try:
            if length == 0 or (length is None and start and start >= self._size(key)):
                self._size(key)  # still refuse a missing blob
                return iter(())
            return self.s3.stream(key, start, length)
        except ClientError:
            raise StorageError(f"missing {digest}") from None

    def local_path(self, digest: Digest) -> Path | None:
        return None

    def redirect_url(self, digest: Digest) -> str | None:
        if self._redirect_ttl is None:
            return None
        return self.s3.presign(self.keys.blob(digest), self._redirect_ttl)

    def delete(self, digest: Digest) -> None:
        self.s3.delete_many([self.keys.blob(digest)])

    def detach(self, digest: Digest) -> str | None:
        """Copy aside and delete (S3 has no rename); the copy is server-side."""
        token = f"{digest.hex}.{uuid.uuid4().hex}"
        source = self.keys.blob(digest)
        try:
            size = self._size(source)
        except ClientError:
            return None
        try:
            whole = [Segment(0, size, source)]
            assemble(self.s3, whole, self.keys.detached_key(token), self.part_size)
        except ClientError:  # deleted between the HEAD and the copy
            return None
        self.s3.delete_many([source])
        return token

    def purge(self, token: str) -> None:
        self.s3.delete_many([self.keys.detached_key(token)])

    def purge_detached(self) -> int:
        keys = [key for key, _ in self.s3.keys(self.keys.detached)]
        self.s3.delete_many(keys)
        return len(keys)

    def iter_digests(self) -> Iterator[Digest]:
        for key, _size in self.s3.keys(self.keys.blobs):
            digest = self.keys.digest_of(key)
            if digest is not None:
                yield digest

    # -- upload sessions ---------------------------------------------------------------

    def begin_upload(self, upload_id: str) -> None:
        self.s3.call("put_object", Key=self.keys.marker(upload_id), Body=b"")

    def upload_size(self, upload_id: str) -> int:
        segments = list_segments(self.s3, self.keys, upload_id)
        if segments is None:
            raise StorageError(f"no upload {upload_id}")
        return contiguous_size(segments)

    def _hold(self, upload_id: str) -> None:
        with self._held:
            if upload_id in self._writers:
                raise StorageError(f"upload {upload_id} is being written by another request")
            self._writers[upload_id] = None

    def _release(self, upload_id: str) -> None:
        with self._held:
            self._writers.pop(upload_id, None)

    def append(self, upload_id: str, offset: int) -> SegmentWriter:
        self.keys.session(upload_id)  # validate before holding anything
        self._hold(upload_id)
        try:
            size = self.upload_size(upload_id)
            if size != offset:
                raise StorageError(f"upload {upload_id} has {size} bytes, not {offset}")
        except BaseException:
            self._release(upload_id)
            raise
        writer = SegmentWriter(
            self.s3, self.keys, upload_id, offset, self.part_size, lambda: self._release(upload_id)
        )
        with self._held:
            self._writers[upload_id] = writer
        return writer

    def truncate(self, upload_id: str, size: int) -> None:
        with self._held:
            writer = self._writers.get(upload_id)
        if writer is not None:
            writer.cut(size)
        segments = list_segments(self.s3, self.keys, upload_id)
        if segments is None:
            return  # the session ended meanwhile: nothing to cut
        doomed = [s.key for s in segments if s.offset >= size]
        for segment in segments:
            if segment.offset < size < segment.offset + segment.size:
                kept = b"".join(self.s3.stream(segment.key, 0, size - segment.offset))
                self.s3.call("put_object", Key=segment.key, Body=kept)  # one part at most
        self.s3.delete_many(doomed)

    def read_upload(self, upload_id: str) -> Iterator[bytes]:
        segments = list_segments(self.s3, self.keys, upload_id)
        if segments is None:
            raise StorageError(f"no upload {upload_id}")

        def chunks() -> Iterator[bytes]:
            for segment in segments:
                if segment.size:
                    yield from self.s3.stream(segment.key)

        return chunks()

    def settle(self, upload_id: str) -> None:
        """Parts are durable once S3 took them: nothing to do ahead of the commit."""

    def commit(self, upload_id: str, digest: Digest) -> None:
        self._hold(upload_id)  # never assemble under a writer of this process
        try:
            segments = list_segments(self.s3, self.keys, upload_id)
            if segments is None:
                raise StorageError(f"no upload {upload_id}")
            target = self.keys.blob(digest)
            try:
                self.last_commit = assemble(self.s3, segments, target, self.part_size)
            except ClientError:  # a segment vanished: the session was aborted meanwhile
                raise StorageError(f"upload {upload_id} changed during its commit") from None
            self._drop_session(upload_id)
        finally:
            self._release(upload_id)

    def abort(self, upload_id: str) -> None:
        self._drop_session(upload_id)

    def _drop_session(self, upload_id: str) -> None:
        """Segments first, marker last: a half-done drop still lists as a session."""
        folder = self.keys.session(upload_id)
        marker = self.keys.marker(upload_id)
        keys = [key for key, _ in self.s3.keys(folder) if key != marker]
        self.s3.delete_many(keys)
        self.s3.delete_many([marker])

    def iter_uploads(self) -> Iterator[str]:
        # Listed key by key, not by folder: some servers (SeaweedFS) keep emptied
        # folders, which a delimiter listing would report as sessions.
        for key, _size in self.s3.keys(self.keys.uploads):
            if key.endswith("/" + MARKER):
                upload_id = self.keys.upload_id_of(key)
                if upload_id is not None:
                    yield upload_id

    def iter_strays(self) -> Iterator[str]:
        for top in (self.keys.blobs, self.keys.uploads):
            for key, _size in self.s3.keys(top):
                if not self.keys.is_known(key):
                    yield key[len(self.keys.root) :]

    def delete_stray(self, name: str) -> None:
        key = self.keys.root + name
        inside = key.startswith(self.keys.blobs) or key.startswith(self.keys.uploads)
        if not inside or "/../" in f"/{name}/" or self.keys.is_known(key):
            raise StorageError(f"{name[:200]!r} is not debris of this store")
        self.s3.delete_many([key])

    def close(self) -> None:
        self.s3.close()


__all__ = ["S3Store", "Target", "is_missing"]
