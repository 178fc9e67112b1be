"""The storage seam: what the registry needs from a place that keeps bytes.

Blobs are immutable and addressed by digest. Upload sessions are append-only byte
streams addressed by an opaque id; ``commit`` turns one into a blob atomically, so
a crash at any moment leaves either no blob or the whole, verified blob. A driver
that keeps files locally (filesystem) offers ``local_path`` for zero-copy sends; a
remote one (S3) would return None there and may offer a redirect URL instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from dockyard.oci.digest import Digest


class StorageError(Exception):
    """The store could not do what was asked (missing upload, bad offset, I/O)."""


class StorageUnavailable(Exception):  # noqa: N818 - reads as a state, like the HTTP status
    """The store cannot be reached or refuses us (network, credentials, missing bucket).

    Not a StorageError on purpose: callers that turn a StorageError into "no such
    upload" or "session busy" must not hide an outage; the HTTP layer answers 503.
    """


class UploadWriter(Protocol):
    """Appends to one upload session; ``close`` makes the bytes durable.

    ``close(durable=False)`` skips that when a ``commit`` follows at once, since the
    commit makes the blob durable anyway.
    """

    def write(self, chunk: bytes) -> None: ...

    def close(self, durable: bool = True) -> None: ...


class BlobStore(Protocol):
    remote: bool
    """True when calls cross the network (S3): callers keep them off the event loop, and
    the registry leases upload sessions in the database, since the store cannot lock
    one across processes. False (filesystem) keeps the fast local path."""

    def check(self) -> None:
        """Raise unless the store can be read and written right now (readiness)."""

    def stat(self, digest: Digest) -> int | None:
        """The blob's size, or None if the store does not have it."""

    def read(self, digest: Digest, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """Stream the blob's bytes (or a range of them) in bounded chunks."""

    def local_path(self, digest: Digest) -> Path | None:
        """A file the server may send directly (zero-copy), if the driver has one."""

    def redirect_url(self, digest: Digest) -> str | None:
        """A short-lived URL clients may fetch the blob from instead, if the driver
        offers one (S3 with s3_redirect on); None means serve the bytes ourselves."""

    def delete(self, digest: Digest) -> None:
        """Forget the blob; deleting a missing blob is not an error."""

    def detach(self, digest: Digest) -> str | None:
        """Take the blob out of the store at once and cheaply (a rename), leaving its
        bytes for ``purge``; a token for that, or None if the store does not have it.
        Garbage collection detaches under a lock and purges after letting go of it."""

    def purge(self, token: str) -> None:
        """Delete bytes ``detach`` took out; an unknown token is fine (already gone)."""

    def purge_detached(self) -> int:
        """Delete every detached blob left behind (by a crash); how many there were."""

    def iter_digests(self) -> Iterator[Digest]:
        """Every committed blob, in ``str(digest)`` byte order, listed lazily.

        The order lets a caller walk the store and the database side by side in
        constant memory. Upload sessions and anything that is not a blob are skipped.
        """

    def begin_upload(self, upload_id: str) -> None:
        """Create an empty upload session."""

    def upload_size(self, upload_id: str) -> int:
        """Bytes received so far; raises StorageError if the session does not exist."""

    def append(self, upload_id: str, offset: int) -> UploadWriter:
        """A writer for bytes starting at ``offset``, which must equal upload_size."""

    def truncate(self, upload_id: str, size: int) -> None:
        """Drop bytes past ``size`` (a failed request); a missing session is fine."""

    def read_upload(self, upload_id: str) -> Iterator[bytes]:
        """Stream an upload's bytes (to re-hash it after a restart)."""

    def settle(self, upload_id: str) -> None:
        """Make the upload's bytes durable now, ahead of ``commit`` (which runs inside a
        database transaction that concurrent pushes wait for): the slow part of a local
        commit, done before anyone waits. A store with nothing to settle does nothing."""

    def commit(self, upload_id: str, digest: Digest) -> None:
        """Make the upload the blob ``digest`` atomically and durably; the session ends."""

    def abort(self, upload_id: str) -> None:
        """End the session and drop its bytes; aborting a missing session is fine."""

    def iter_uploads(self) -> Iterator[str]:
        """The ids of every upload session holding bytes (to find abandoned ones)."""

    def iter_strays(self) -> Iterator[str]:
        """Debris: names of stored objects that are neither a blob nor an upload session.

        Nothing Dockyard writes shows up here; copies gone wrong or hand edits do.
        """

    def delete_stray(self, name: str) -> None:
        """Remove one object ``iter_strays`` listed; any other name is a StorageError."""

    def close(self) -> None:
        """Let go of connections and threads at shutdown; the store is not used after."""
