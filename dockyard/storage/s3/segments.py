"""An upload session kept as numbered segment objects, and the writer that cuts them.

S3 objects cannot be appended to, so each request's body goes up as segments of at
most ``part_size`` bytes, keyed by their offset; the writer holds one part in memory.
A session's size is read from a listing, so it survives restarts and other replicas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockyard.storage.base import StorageError
from dockyard.storage.s3.client import S3
from dockyard.storage.s3.keys import MARKER, Keys


@dataclass(frozen=True, slots=True)
class Segment:
    offset: int
    size: int
    key: str


def list_segments(s3: S3, keys: Keys, upload_id: str) -> list[Segment] | None:
    """The session's segments in order, or None when the session does not exist."""
    folder = keys.session(upload_id)
    found, segments = False, []
    for key, size in s3.keys(folder):
        name = key[len(folder) :]
        if name == MARKER:
            found = True
            continue
        offset = Keys.offset_of(name)
        if offset is not None:
            segments.append(Segment(offset, size, key))
    return segments if found else None


def contiguous_size(segments: list[Segment]) -> int:
    """Bytes from 0 without a gap (a gap would be a bug; what follows it is not trusted)."""
    size = 0
    for segment in segments:
        if segment.offset != size:
            break
        size += segment.size
    return size


class SegmentWriter:
    """Appends to one session from ``offset`` on; each full part goes up as a segment."""

    def __init__(
        self,
        s3: S3,
        keys: Keys,
        upload_id: str,
        offset: int,
        part_size: int,
        release: Callable[[], None],
    ) -> None:
        self._s3, self._keys, self._id = s3, keys, upload_id
        self._offset = offset  # where the buffer starts in the session
        self._part = part_size
        self._buffer = bytearray()
        self._release = release
        self._closed = False

    def write(self, chunk: bytes) -> None:
        if self._closed:
            raise StorageError(f"upload {self._id}: write after close")
        self._buffer += chunk
        while len(self._buffer) >= self._part:
            self._put(bytes(self._buffer[: self._part]))
            del self._buffer[: self._part]

    def _put(self, data: bytes) -> None:
        self._s3.call("put_object", Key=self._keys.segment(self._id, self._offset), Body=data)
        self._offset += len(data)

    def cut(self, size: int) -> None:
        """A truncate came while writing: forget buffered bytes past ``size``."""
        if size <= self._offset:
            self._buffer.clear()
            self._offset = min(self._offset, size)
        else:
            del self._buffer[size - self._offset :]

    def close(self, durable: bool = True) -> None:
        """Send what is buffered; an acknowledged PUT is durable, so ``durable`` is moot."""
        if self._closed:
            return
        try:
            if self._buffer:
                self._put(bytes(self._buffer))
                self._buffer.clear()
        finally:
            self._closed = True
            self._release()
