"""Upload sessions: start, append, finish, cancel, mount, and purge when idle.

Bytes are hashed as they arrive, so a blob that came through the server once is
never read back to be verified. The running hash lives in this process's memory
keyed by session; when it is missing (after a restart, or when another worker or
replica took the previous chunk) finishing re-reads the session's bytes instead, so
the digest is always verified before the blob becomes visible. Acknowledged bytes
never change (failed tails are cut back), so a hash kept at the session's current
size is still right even when other processes wrote chunks in between.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dockyard.db.engine import Database
from dockyard.db.queries import blobs as blob_rows
from dockyard.db.queries import gc as gc_rows
from dockyard.db.queries import repositories
from dockyard.db.queries import uploads as upload_rows
from dockyard.db.queries.usage import Room
from dockyard.oci.digest import Digest
from dockyard.oci.errors import Code, RegistryError
from dockyard.registry.quota import Quota, check_bytes, enforced, record_refusal
from dockyard.storage import BlobStore, StorageError, UploadWriter

RUNNING_HASHES_KEPT = 4096
LEASE = timedelta(seconds=120)  # a writer that stops renewing loses the session after this
RENEW_AFTER = 30.0  # seconds between renewals while a body streams in


@dataclass(frozen=True, slots=True)
class UploadStatus:
    id: str
    repository: str
    size: int


class _RunningHashes:
    """Bounded map upload id -> (bytes hashed, hasher), shared by this process's requests."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[int, str, object]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, upload_id: str, offset: int, algorithm: str) -> object:
        with self._lock:
            entry = self._entries.pop(upload_id, None)
        if entry and entry[0] == offset and entry[1] == algorithm:
            return entry[2]
        if offset == 0:
            return hashlib.new(algorithm)
        return None  # bytes arrived elsewhere: finish() will re-hash from storage

    def put(self, upload_id: str, offset: int, algorithm: str, hasher: object) -> None:
        with self._lock:
            self._entries[upload_id] = (offset, algorithm, hasher)
            while len(self._entries) > RUNNING_HASHES_KEPT:
                self._entries.popitem(last=False)

    def drop(self, upload_id: str) -> None:
        with self._lock:
            self._entries.pop(upload_id, None)


class SessionLeases:
    """One writer per session across processes and replicas, for stores that cannot lock.

    The filesystem driver locks a session with flock, which every process on the host
    sees. S3 has nothing like it, so with a remote store the registry leases the session's
    row (compare-and-set UPDATE) before appending, rewinding or committing, renews the
    lease while a body streams in, and lets go at the end. A crashed holder's lease
    simply expires (LEASE). With a local store every method is a no-op.
    """

    def __init__(self, db: Database, enabled: bool) -> None:
        self._db = db
        self.enabled = enabled

    def take(self, upload_id: str) -> str | None:
        """A holder id once the lease is ours (None: leases are off); StorageError if busy."""
        if not self.enabled:
            return None
        holder = str(uuid.uuid4())
        if not self.renew(upload_id, holder):
            raise StorageError(f"upload {upload_id} is being written by another request")
        return holder

    def renew(self, upload_id: str, holder: str) -> bool:
        now = datetime.now(UTC)
        with self._db.session(write=True) as session:
            return upload_rows.take_lease(session, upload_id, holder, now, now + LEASE)

    def release(self, upload_id: str, holder: str | None) -> None:
        if holder is not None:
            with self._db.session(write=True) as session:
                upload_rows.release_lease(session, upload_id, holder)


class Receiver:
    """Writes one request's body into a session, hashing as it goes."""

    def __init__(
        self,
        uploads: Uploads,
        status: UploadStatus,
        writer: UploadWriter,
        algorithm: str,
        room: Room | None = None,
        lease: str | None = None,
    ) -> None:
        self._uploads = uploads
        self.status = status
        self._writer = writer
        self._lease = lease  # our lease on the session's row (remote stores only)
        self._renewed = time.monotonic()
        self._lost = False
        self._algorithm = algorithm
        self._hasher = uploads.hashes.take(status.id, status.size, algorithm)
        self._room = room  # the storage limit's room when the request began (None: none)
        self.received = 0

    @property
    def remote(self) -> bool:
        """Writes cross the network: callers run them off the event loop."""
        return self._uploads.store.remote

    def expect(self, length: int | None) -> None:
        """Refuse, before reading, a body whose declared length would pass the limit."""
        if length is not None:
            self._check(self.status.size + length)

    def _check(self, size: int) -> None:
        """``check_bytes``, and the refusal's ``quota_exceeded`` event (rare: a write)."""
        if self._room is not None and size > self._room.bytes:
            record_refusal(self._uploads._db, self.status.repository, self._room)
        check_bytes(self._room, size)

    def write(self, chunk: bytes) -> None:
        self._check(self.status.size + self.received + len(chunk))
        self._keep_lease()
        self._writer.write(chunk)
        if self._hasher is not None:
            self._hasher.update(chunk)  # type: ignore[attr-defined]
        self.received += len(chunk)

    def _keep_lease(self) -> None:
        if self._lease is None or time.monotonic() - self._renewed < RENEW_AFTER:
            return
        if not self._uploads.leases.renew(self.status.id, self._lease):
            self._lost = True  # we stalled past LEASE and another request took over
            raise RegistryError(
                Code.BLOB_UPLOAD_INVALID,
                "this request stalled and the upload session was taken over; "
                "check the session's Range and resume from there",
                status=416,
            )
        self._renewed = time.monotonic()

    def close(self, durable: bool = True) -> int:
        """End this request's writing (durably, unless ``finish`` follows); the new size."""
        try:
            self._writer.close(durable)
        except BaseException:
            # The last bytes did not land (S3 went away): cut back what this request did
            # write, so the session is as it was (best effort: the store may be down).
            self._uploads.hashes.drop(self.status.id)
            with contextlib.suppress(Exception):
                self._uploads.store.truncate(self.status.id, self.status.size)
            raise
        finally:
            self._uploads.leases.release(self.status.id, self._lease)
        size = self.status.size + self.received
        if self._hasher is not None:
            self._uploads.hashes.put(self.status.id, size, self._algorithm, self._hasher)
        return size

    def fail(self) -> None:
        """Undo a partly received body, so a failed request changes nothing.

        The bytes are cut back while this request still holds the session, then the
        cut is made durable, so no other request ever sees or appends to a partial chunk.
        """
        try:
            self._uploads.hashes.drop(self.status.id)
            if not self._lost:  # never cut bytes the new holder is writing
                self._uploads.store.truncate(self.status.id, self.status.size)
        finally:
            try:
                self._writer.close()
            finally:
                self._uploads.leases.release(self.status.id, self._lease)


def _unknown(upload_id: str) -> RegistryError:
    return RegistryError(Code.BLOB_UPLOAD_UNKNOWN, detail={"uuid": upload_id[:64]})


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


class Uploads:
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        quota: Quota | None = None,
        gc_delay: timedelta = timedelta(days=1),
    ) -> None:
        self._db = db
        self.store = store
        self.hashes = _RunningHashes()
        self.leases = SessionLeases(db, enabled=store.remote)
        self.quota = quota or Quota(db)
        self._gc_delay = gc_delay  # a fresh blob no manifest references waits this long

    def start(
        self, repository: str, owner: str | None = None, digest: Digest | None = None
    ) -> UploadStatus:
        """Open a session bound to ``repository`` and to whoever opened it; refused when
        the storage limit has no room left (unless ``digest`` is stored there already)."""
        self.quota.check_start(repository, str(digest) if digest else None)
        upload_id = str(uuid.uuid4())
        self.store.begin_upload(upload_id)

        def record(session: object) -> None:
            repository_id = repositories.ensure(session, repository)
            upload_rows.create(session, upload_id, repository_id, owner)

        try:
            self._db.transact(record)  # shares its commit with concurrent pushes
        except BaseException:
            self.store.abort(upload_id)
            raise
        return UploadStatus(upload_id, repository, 0)

    def status(self, repository: str, upload_id: str, owner: str | None = None) -> UploadStatus:
        """The session, if it exists in ``repository`` and was opened by ``owner``.

        Anything else is BLOB_UPLOAD_UNKNOWN, so a session id leaks nothing to others.
        """
        if not _is_uuid(upload_id):
            raise _unknown(upload_id)
        with self._db.session() as session:
            record = upload_rows.find(session, upload_id)
        if record is None or record.repository != repository or record.owner != owner:
            raise _unknown(upload_id)
        try:
            return UploadStatus(upload_id, repository, self.store.upload_size(upload_id))
        except StorageError:
            raise _unknown(upload_id) from None

    def room(self, repository: str, digest: Digest | None = None) -> Room | None:
        """The storage limit's room for a request's body (None: no limit applies)."""
        return self.quota.room(repository, str(digest) if digest else None)

    def receiver(
        self, status: UploadStatus, algorithm: str = "sha256", room: Room | None = None
    ) -> Receiver:
        try:
            lease = self.leases.take(status.id)
        except StorageError as error:
            raise self._unavailable(status.id, error) from None
        try:
            writer = self.store.append(status.id, status.size)
        except StorageError as error:
            self.leases.release(status.id, lease)
            raise self._unavailable(status.id, error) from None
        except BaseException:
            self.leases.release(status.id, lease)
            raise
        return Receiver(self, status, writer, algorithm, room, lease)

    def _unavailable(self, upload_id: str, error: StorageError) -> RegistryError:
        """A session another request holds or moved (416 with its Range), or one now gone."""
        try:
            size = self.store.upload_size(upload_id)
        except StorageError:
            return _unknown(upload_id)
        return RegistryError(
            Code.BLOB_UPLOAD_INVALID, str(error), status=416, headers={"Range": _range(size)}
        )

    def touch(self, upload_id: str) -> None:
        with self._db.session(write=True) as session:
            upload_rows.touch(session, upload_id)

    def finish(self, status: UploadStatus, digest: Digest) -> int:
        """Verify the session against ``digest`` and turn it into a linked blob; its size."""
        try:
            lease = self.leases.take(status.id)
        except StorageError as error:
            raise self._unavailable(status.id, error) from None
        try:
            return self._finish(status, digest)
        finally:
            self.leases.release(status.id, lease)  # the row is gone after a commit anyway

    def _finish(self, status: UploadStatus, digest: Digest) -> int:
        try:
            size = self.store.upload_size(status.id)
            self.quota.check_fits(status.repository, size, str(digest))
            hasher = self.hashes.take(status.id, size, digest.algorithm)
            if hasher is None:
                hasher = hashlib.new(digest.algorithm)
                for chunk in self.store.read_upload(status.id):
                    hasher.update(chunk)
            if hasher.hexdigest() != digest.hex:  # type: ignore[attr-defined]
                self.hashes.put(status.id, size, digest.algorithm, hasher)
                raise RegistryError(
                    Code.DIGEST_INVALID,
                    "the uploaded content does not match the digest",
                    {"digest": str(digest)},
                )
            # The bytes become the blob inside the transaction that records it, under the
            # digest's lock: garbage collection deleting an old copy of the same digest
            # either finishes before (and we write it afresh) or sees our row and stops.
            # The limit is checked again there, exactly (under the counter's row lock),
            # before the bytes move: a refusal leaves the session as it was.
            committed = []  # a retried transaction must not move the bytes twice
            self.store.settle(status.id)  # the data's fsync, before concurrent pushes wait

            def record(session: object) -> None:
                gc_rows.lock_digest(session, str(digest))
                repository_id = repositories.ensure(session, status.repository)
                upload_rows.remove(session, status.id)
                self._linked(session, repository_id, str(digest), "uploaded")
                # The usage counters last: their rows are every push's into this project,
                # so what follows their update holds up all of those (usage.py's lock order).
                blob_rows.record_and_link(
                    session, repository_id, str(digest), size, "fit", status.repository
                )
                if not committed:
                    self.store.commit(status.id, digest)
                    committed.append(True)

            with enforced(self._db, status.repository):
                self._db.transact(record)
        except StorageError as error:  # a concurrent request holds or ended the session
            raise self._unavailable(status.id, error) from None
        return size

    def _linked(self, session: object, repository_id: int, digest: str, event: str) -> None:
        """A new link: no longer a candidate blob, and a candidate link until a manifest
        references it (a blob pushed but never used is collected after the delay)."""
        gc_rows.forget_blob(session, digest)
        after = datetime.now(UTC) + self._gc_delay
        gc_rows.review_links(session, repository_id, [digest], after, event)

    def rewind(self, status: UploadStatus) -> None:
        """Cut the session back to ``status.size``: a closing PUT's chunk whose finish failed.

        Done under the session's lock; a session that is busy or gone is left alone.
        """
        try:
            lease = self.leases.take(status.id)
        except StorageError:
            return
        try:
            try:
                writer = self.store.append(status.id, self.store.upload_size(status.id))
            except StorageError:
                return
            try:
                self.hashes.drop(status.id)
                self.store.truncate(status.id, status.size)
            finally:
                writer.close()
        finally:
            self.leases.release(status.id, lease)

    def cancel(self, status: UploadStatus) -> None:
        with self._db.session(write=True) as session:
            upload_rows.remove(session, status.id)
        self.hashes.drop(status.id)
        self.store.abort(status.id)

    def mount(
        self,
        repository: str,
        digest: Digest,
        source: str | None,
        may_read: Callable[[str], bool],
    ) -> int | None:
        """Link a blob from ``source`` (or, without one, any readable holder); its size or None.

        The permission checks run before the write transaction, so the (single) SQLite
        writer never waits on them; a blob row exists only once its bytes are committed.
        """
        with self._db.session() as session:
            if source is not None:
                holders = [source]
            else:
                holders = blob_rows.repositories_holding(session, str(digest))
            size = None
            for holder in holders:
                if holder == repository or may_read(holder):
                    size = blob_rows.linked_size(session, holder, str(digest))
                    if size is not None:
                        break
        if size is None:
            return None

        def link(session: object) -> int | None:
            if blob_rows.hold(session, str(digest)) is None:  # collected meanwhile: upload
                return None
            repository_id = repositories.ensure(session, repository)
            self._linked(session, repository_id, str(digest), "mounted")
            blob_rows.link(session, repository_id, str(digest), size, "fit", repository)  # last
            return size

        with enforced(self._db, repository):
            return self._db.transact(link)

    def purge_idle(self, idle: timedelta) -> int:
        """End sessions untouched for ``idle``; how many were purged."""
        now = datetime.now(UTC)
        with self._db.session(write=True) as session:
            stale = [
                upload_id
                for upload_id in upload_rows.idle_since(session, now - idle)
                if upload_rows.remove_if_idle(session, upload_id, now - idle, now)
            ]
        for upload_id in stale:
            self.hashes.drop(upload_id)
            self.store.abort(upload_id)
        return len(stale)


def _range(size: int) -> str:
    """The Range header value for a session holding ``size`` bytes."""
    return f"0-{max(size - 1, 0)}"
