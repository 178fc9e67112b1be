"""Blobs as files under a data folder.

Layout::

    <root>/blobs/<algorithm>/<first two hex>/<hex>   committed, immutable blobs
    <root>/uploads/<upload id>                       upload sessions, append-only

A commit fsyncs the upload file, renames it over the blob path (atomic on POSIX)
and fsyncs the directory, so readers see the whole verified blob or nothing.
Upload ids are checked against a strict pattern before they touch a path.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from dockyard.oci.digest import Digest
from dockyard.storage.base import StorageError

READ_CHUNK = 1024 * 1024
FLUSH_EVERY = 4 * 1024 * 1024
_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_LOWER_HEX = re.compile(r"[0-9a-f]+")
_UPLOAD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DETACHED = re.compile(r"[0-9a-f]{64,128}\.[0-9a-f]{32}")


def _try_lock(fd: int) -> bool:
    """Take the session's exclusive lock (released on close), without waiting."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_soon(fd: int, patience: float = 1.0) -> bool:
    """Take the lock, waiting briefly: at commit the writer has closed its file, but a
    process forked at that moment (a background child starting) holds a copy of the
    descriptor, and so the lock, until it closes its inherited files a moment later."""
    deadline = time.monotonic() + patience
    while not _try_lock(fd):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _FileWriter:
    """Appends to an open file; ``close`` makes it durable (unless a commit follows).

    Every FLUSH_EVERY bytes a background fdatasync starts, so the disk writes
    while the network is still delivering and the final sync has little left.
    """

    def __init__(self, fd: int, flusher: ThreadPoolExecutor) -> None:
        self._fd = fd
        self._flusher = flusher
        self._unflushed = 0
        self._pending: Future[None] | None = None

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._unflushed += len(chunk)
        if self._unflushed >= FLUSH_EVERY and (self._pending is None or self._pending.done()):
            self._unflushed = 0
            self._pending = self._flusher.submit(os.fdatasync, self._fd)

    def close(self, durable: bool = True) -> None:
        try:
            if self._pending is not None:
                self._pending.result()
            if durable:
                os.fdatasync(self._fd)
        finally:
            os.close(self._fd)


class FilesystemStore:
    remote = False  # local calls: flock guards sessions, no database lease needed

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._blobs = self.root / "blobs"
        self._uploads = self.root / "uploads"
        self._detached = self.root / "detached"  # blobs garbage collection took out
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._detached.mkdir(parents=True, exist_ok=True)
        self._uploads.mkdir(parents=True, exist_ok=True)
        self._flusher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fsync")

    def check(self) -> None:
        """Raise unless both folders exist and take a new file (readiness probes)."""
        if not self._blobs.is_dir():
            raise StorageError("the blobs folder is missing")
        fd, probe = tempfile.mkstemp(prefix=".ready-", dir=self._uploads)
        os.close(fd)
        os.unlink(probe)

    def _blob_path(self, digest: Digest) -> Path:
        return self._blobs / digest.algorithm / digest.hex[:2] / digest.hex

    def _upload_path(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise StorageError(f"invalid upload id {upload_id[:64]!r}")
        return self._uploads / upload_id

    def stat(self, digest: Digest) -> int | None:
        try:
            return self._blob_path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, digest: Digest, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        return _read_file(self._blob_path(digest), start, length)

    def local_path(self, digest: Digest) -> Path | None:
        path = self._blob_path(digest)
        return path if path.exists() else None

    def redirect_url(self, digest: Digest) -> str | None:
        return None

    def delete(self, digest: Digest) -> None:
        self._blob_path(digest).unlink(missing_ok=True)

    def detach(self, digest: Digest) -> str | None:
        token = f"{digest.hex}.{uuid.uuid4().hex}"
        try:
            os.replace(self._blob_path(digest), self._detached / token)
        except FileNotFoundError:
            return None
        return token

    def purge(self, token: str) -> None:
        if not _DETACHED.fullmatch(token):
            raise StorageError(f"invalid detached blob {token[:100]!r}")
        (self._detached / token).unlink(missing_ok=True)

    def purge_detached(self) -> int:
        count = 0
        for entry in os.scandir(self._detached):
            if entry.is_file() and _DETACHED.fullmatch(entry.name):
                os.unlink(entry.path)
                count += 1
        return count

    def iter_digests(self) -> Iterator[Digest]:
        # "sha256" < "sha512" and hex is fixed-length per algorithm, so sorted folder
        # names walked depth-first give str(digest) byte order.
        for algorithm in _sorted_dirs(self._blobs):
            length = _HEX_LENGTH.get(algorithm.name)
            if length is None:
                continue
            for prefix in _sorted_dirs(algorithm):
                for name in sorted(os.listdir(prefix)):
                    path = prefix / name
                    if (
                        len(name) == length
                        and _LOWER_HEX.fullmatch(name)
                        and name[:2] == prefix.name
                        and path.is_file()
                    ):
                        yield Digest(algorithm.name, name)

    def begin_upload(self, upload_id: str) -> None:
        path = self._upload_path(upload_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)

    def upload_size(self, upload_id: str) -> int:
        try:
            return self._upload_path(upload_id).stat().st_size
        except FileNotFoundError:
            raise StorageError(f"no upload {upload_id}") from None

    def append(self, upload_id: str, offset: int) -> _FileWriter:
        try:
            fd = os.open(self._upload_path(upload_id), os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            raise StorageError(f"no upload {upload_id}") from None
        if not _try_lock(fd):
            os.close(fd)
            raise StorageError(f"upload {upload_id} is being written by another request")
        size = os.fstat(fd).st_size
        if size != offset:
            os.close(fd)
            raise StorageError(f"upload {upload_id} has {size} bytes, not {offset}")
        return _FileWriter(fd, self._flusher)

    def truncate(self, upload_id: str, size: int) -> None:
        with contextlib.suppress(FileNotFoundError):  # the session ended meanwhile
            os.truncate(self._upload_path(upload_id), size)

    def read_upload(self, upload_id: str) -> Iterator[bytes]:
        return _read_file(self._upload_path(upload_id), 0, None)

    def settle(self, upload_id: str) -> None:
        try:
            fd = os.open(self._upload_path(upload_id), os.O_RDONLY)
        except FileNotFoundError:
            return  # commit says so
        try:
            os.fsync(fd)  # commit's own fsync then finds nothing left to write
        finally:
            os.close(fd)

    def commit(self, upload_id: str, digest: Digest) -> None:
        source = self._upload_path(upload_id)
        target = self._blob_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(source, os.O_RDONLY)
        except FileNotFoundError:
            raise StorageError(f"no upload {upload_id}") from None
        try:
            if not _lock_soon(fd):  # a request is still appending: never rename under it
                raise StorageError(f"upload {upload_id} is being written by another request")
            os.fsync(fd)
            os.replace(source, target)
        finally:
            os.close(fd)
        _fsync_dir(target.parent)

    def abort(self, upload_id: str) -> None:
        self._upload_path(upload_id).unlink(missing_ok=True)

    def iter_uploads(self) -> Iterator[str]:
        for entry in os.scandir(self._uploads):
            if _UPLOAD_ID.fullmatch(entry.name) and entry.is_file():
                yield entry.name

    def iter_strays(self) -> Iterator[str]:
        for top in (self._blobs, self._uploads):
            for folder, _dirs, files in os.walk(top):
                for name in sorted(files):
                    path = Path(folder) / name
                    if not self._is_known(path):
                        yield str(path.relative_to(self.root))

    def delete_stray(self, name: str) -> None:
        path = (self.root / name).resolve()
        inside = self._blobs in path.parents or self._uploads in path.parents
        if not inside or self._is_known(path):
            raise StorageError(f"{name[:200]!r} is not debris of this store")
        path.unlink(missing_ok=True)

    def close(self) -> None:
        """Nothing to let go of: files are opened and closed per call."""

    def _is_known(self, path: Path) -> bool:
        """A blob at its own place, or an upload session."""
        if path.parent == self._uploads:
            return bool(_UPLOAD_ID.fullmatch(path.name))
        prefix, algorithm = path.parent, path.parent.parent
        return (
            algorithm.parent == self._blobs
            and len(path.name) == _HEX_LENGTH.get(algorithm.name, -1)
            and bool(_LOWER_HEX.fullmatch(path.name))
            and path.name[:2] == prefix.name
        )


def _sorted_dirs(path: Path) -> list[Path]:
    return sorted((p for p in path.iterdir() if p.is_dir()), key=lambda p: p.name)


def _read_file(path: Path, start: int, length: int | None) -> Iterator[bytes]:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the generator
    except FileNotFoundError:
        raise StorageError(f"missing {path.name}") from None

    def chunks() -> Iterator[bytes]:
        with handle:
            handle.seek(start)
            remaining = length
            while remaining is None or remaining > 0:
                size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = handle.read(size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    return chunks()
