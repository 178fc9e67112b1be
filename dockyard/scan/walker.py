"""Stream an image's layers in order and keep what the analyzers want, after whiteouts.

Each layer blob is read once, forward only: the store's chunks become a file-like
stream, the compression is told by its magic bytes (gzip, zstd, or a plain tar), and
``tarfile`` walks it in stream mode, so no layer is ever extracted or held in memory.
A file some analyzer ``wants`` is handed to it as a bounded stream; only the small value
it returns is kept, per analyzer and path.

Layer semantics follow the OCI image spec (layer.md): inside one layer, ``.wh.NAME``
hides NAME and everything under it from the layers below, and ``.wh..wh..opq`` hides
everything the layers below put in its directory; a whiteout never hides a file of its
own layer. A file that a later layer writes again replaces the earlier value.
"""

from __future__ import annotations

import bz2
import io
import lzma
import posixpath
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import zstandard
from zlib_ng import gzip_ng, zlib_ng

from dockyard.oci.digest import Digest
from dockyard.scan.analyzer import Analyzer, Found, Limits
from dockyard.storage.base import BlobStore, StorageError

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_CHUNK = 1024 * 1024
# header entries whose body tarfile reads into memory (GNU long names, pax records)
_META_TYPES = (
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
)


class ScanFailed(Exception):
    """The image could not be scanned; ``reason`` is shown to users as it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ScanUnsupported(ScanFailed):
    """The manifest is not something the scanner reads (an artifact, schema 1)."""


@dataclass
class Walked:
    """What survived every layer: per analyzer name, the kept values by path."""

    found: dict[str, dict[str, Found]]
    notes: list[str] = field(default_factory=list)  # files seen but unreadable


class _ChunkStream(io.RawIOBase):
    """A forward-only file over an iterator of byte chunks (the store's ``read``)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _Counted(io.RawIOBase):
    """Counts the uncompressed bytes of a layer and stops at the limit (bombs included)."""

    def __init__(self, inner: BinaryIO, limit: int, layer: str) -> None:
        self._inner = inner
        self._limit = limit
        self._layer = layer
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self._inner.read(len(buffer))
        size = len(data)
        self.count += size
        if self.count > self._limit:
            raise ScanFailed(f"layer {self._layer} is larger than {self._limit} bytes uncompressed")
        buffer[:size] = data
        return size


class _Bounded(io.BufferedIOBase):
    """One member's bytes for an analyzer; taking more than the per-file limit fails the scan.

    Counted where the analyzer reads, above any buffer: an analyzer that stops at the
    limit (the Go analyzer on a 100 MB ``node``) never trips it through read-ahead."""

    def __init__(self, inner: BinaryIO, limit: int, what: str) -> None:
        self._inner = inner
        self._limit = limit
        self._what = what
        self._count = 0

    def readable(self) -> bool:
        return True

    def _take(self, data: bytes) -> bytes:
        self._count += len(data)
        if self._count > self._limit:
            raise ScanFailed(f"{self._what} is larger than the {self._limit}-byte limit for a file")
        return data

    def _room(self, size: int | None) -> int:
        """At most one byte past the limit: enough to tell, never a whole huge file."""
        room = self._limit - self._count + 1
        return room if size is None or size < 0 else min(size, room)

    def read(self, size: int | None = -1) -> bytes:
        return self._take(self._inner.read(self._room(size)))

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._take(self._inner.readline(self._room(size)))

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


def _bounded_headers(limit: int, layer: str) -> type[tarfile.TarInfo]:
    """TarInfo that refuses a huge long-name or pax header before tarfile buffers it."""

    class Header(tarfile.TarInfo):
        def _proc_member(self, archive):  # type: ignore[no-untyped-def]
            if self.type in _META_TYPES and self.size > limit:
                raise ScanFailed(
                    f"layer {layer} has a {self.size}-byte tar header, more than {limit} bytes"
                )
            return super()._proc_member(archive)

    return Header


def _decompressed(raw: io.BufferedReader) -> BinaryIO:
    """Tell the compression from the first bytes, not from the (often wrong) media type."""
    head = raw.peek(6)[:6]
    if head.startswith(b"\x1f\x8b"):
        # zlib-ng inflates the same bytes about 2.3x faster than zlib; same checks (CRC,
        # length, concatenated members), so the same layers pass and fail.
        return gzip_ng.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    if head.startswith(b"BZh"):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    return raw  # type: ignore[return-value]


def normalise(name: str, layer: str) -> str:
    """``./usr/bin/x`` and ``/usr/bin/x`` become ``usr/bin/x``; an escape fails the scan."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:  # a layer is applied under a root; ".." there is hostile, not clamped
        raise ScanFailed(f"layer {layer} has a path that leaves the root: {name!r}")
    return "/".join(parts)


def _drop_tree(kept: dict[str, object], directory: str) -> None:
    prefix = directory + "/" if directory else ""
    for path in [p for p in kept if p.startswith(prefix) or p == directory]:
        del kept[path]


def _inherited(analyzer: Analyzer, layer: _Layer) -> dict[str, Found]:
    """A file rewritten by a layer (dpkg's status after each ``apt-get install``) lets
    the analyzer keep, per package, the layer that first brought it (``inherit``)."""
    new = layer.new[analyzer.name]
    inherit = getattr(analyzer, "inherit", None)
    if inherit is None:
        return new
    for path, previous in layer.replaced[analyzer.name].items():
        if path in new:
            new[path] = Found(layer.digest, inherit(previous, new[path].value))
    return new


class _Layer:
    """The state of one layer's walk: what it hides below and what it adds."""

    def __init__(self, digest: str, analyzers: Sequence[Analyzer]) -> None:
        self.digest = digest
        self.new: dict[str, dict[str, Found]] = {a.name: {} for a in analyzers}
        self.replaced: dict[str, dict[str, Found]] = {a.name: {} for a in analyzers}
        self.sizes: dict[str, int] = {}
        self.notes: dict[str, str] = {}  # by path, so a later layer's rewrite drops them


class Walker:
    """Walks one image's layers; ``below`` holds what the layers walked so far left."""

    def __init__(self, store: BlobStore, analyzers: Sequence[Analyzer], limits: Limits) -> None:
        self.store = store
        self.analyzers = list(analyzers)
        self.limits = limits
        self.below: dict[str, dict[str, Found]] = {a.name: {} for a in self.analyzers}
        self.sizes: dict[str, int] = {}
        self.notes: dict[str, str] = {}

    def walk(self, layers: Sequence[Digest]) -> Walked:
        for digest in layers:
            self._layer(digest)
        return Walked(found=self.below, notes=list(self.notes.values()))

    def _layer(self, digest: Digest) -> None:
        name = str(digest)
        layer = _Layer(name, self.analyzers)
        raw = io.BufferedReader(_ChunkStream(self._chunks(digest)), buffer_size=_CHUNK)
        try:
            counted = _Counted(_decompressed(raw), self.limits.max_layer_bytes, name)
            stream = io.BufferedReader(counted, buffer_size=_CHUNK)
            header = _bounded_headers(self.limits.max_file_bytes, name)
            with tarfile.open(fileobj=stream, mode="r|", tarinfo=header) as archive:
                count = 0
                while (member := archive.next()) is not None:
                    archive.members.clear()  # tarfile keeps every header; memory stays flat
                    count += 1
                    if count > self.limits.max_files_per_layer:
                        raise ScanFailed(
                            f"layer {name} has more than {self.limits.max_files_per_layer} files"
                        )
                    self._member(layer, archive, member)
        except ScanFailed:
            raise
        except (
            tarfile.TarError,
            EOFError,
            zlib.error,
            zlib_ng.error,
            OSError,
            lzma.LZMAError,
            zstandard.ZstdError,
            ValueError,
        ) as error:
            raise ScanFailed(f"layer {name} is not a readable tar archive: {error}") from error
        for analyzer in self.analyzers:
            self.below[analyzer.name].update(_inherited(analyzer, layer))
        self.sizes.update(layer.sizes)
        self.notes.update(layer.notes)

    def _chunks(self, digest: Digest) -> Iterator[bytes]:
        try:
            yield from self.store.read(digest)
        except (StorageError, FileNotFoundError) as error:
            raise ScanFailed(f"layer {digest} is missing from storage") from error

    def _member(self, layer: _Layer, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        path = normalise(member.name, layer.digest)
        directory, base = posixpath.split(path)
        if base == _OPAQUE or base.startswith(_WHITEOUT):
            hidden = (
                directory if base == _OPAQUE else posixpath.join(directory, base[len(_WHITEOUT) :])
            )
            for kept in [*self.below.values(), self.notes]:
                _drop_tree(kept, hidden)
            return
        self.notes.pop(path, None)
        layer.notes.pop(path, None)
        for analyzer_name, kept in self.below.items():  # this entry replaces the one below
            previous = kept.pop(path, None)
            if previous is not None:
                layer.replaced[analyzer_name][path] = previous
        for kept in layer.new.values():  # and a later entry of the same layer wins
            kept.pop(path, None)
        if member.islnk():
            self._hardlink(layer, path, normalise(member.linkname, layer.digest), member)
        elif member.isreg():
            self._regular(layer, archive, path, member)

    def _hardlink(self, layer: _Layer, path: str, target: str, member: tarfile.TarInfo) -> None:
        """A hard link shares its target's bytes, so it shares the value read from them."""
        size = layer.sizes.get(target, self.sizes.get(target, 0))
        for analyzer in self.analyzers:
            value = layer.new[analyzer.name].get(target) or self.below[analyzer.name].get(target)
            if value is not None and analyzer.wants(path, member.mode, size):
                layer.new[analyzer.name][path] = Found(layer.digest, value.value)
                layer.sizes[path] = size

    def _regular(
        self, layer: _Layer, archive: tarfile.TarFile, path: str, member: tarfile.TarInfo
    ) -> None:
        wanting = [a for a in self.analyzers if a.wants(path, member.mode, member.size)]
        if not wanting:
            return
        what = f"{path} in layer {layer.digest}"
        source = archive.extractfile(member)
        assert source is not None  # a regular file always has a body
        stream: BinaryIO = _Bounded(source, self.limits.max_file_bytes, what)  # type: ignore[assignment]
        if len(wanting) > 1:  # a forward-only stream can be read once; share a bounded copy
            stream = io.BytesIO(stream.read())
        for analyzer in wanting:
            if len(wanting) > 1:
                stream.seek(0)
            try:
                value = analyzer.read(path, stream, member.size, self.limits)
            except ScanFailed:
                raise
            except Exception as error:  # one odd file must not hide the rest of the image
                why = str(error) or type(error).__name__  # MemoryError says nothing itself
                layer.notes[path] = f"{what}: {analyzer.name} could not read it ({why})"
                continue
            if value is not None:
                layer.new[analyzer.name][path] = Found(layer.digest, value)
                layer.sizes[path] = member.size
