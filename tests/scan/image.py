"""Build images for scanner tests in Python: tar layers (plain, gzip, zstd) committed to
a real FilesystemStore, and the manifest that lists them."""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass

import zstandard

from dockyard.oci.digest import Digest
from dockyard.storage.filesystem import FilesystemStore
from tests.storage.conformance import upload

Entry = tuple[tarfile.TarInfo, bytes | None]


def file(name: str, data: bytes | str, mode: int = 0o644) -> Entry:
    body = data.encode() if isinstance(data, str) else data
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(body), mode
    return info, body


def directory(name: str) -> Entry:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info, None


def symlink(name: str, target: str) -> Entry:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info, None


def hardlink(name: str, target: str) -> Entry:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.LNKTYPE, target
    return info, None


def whiteout(path: str) -> Entry:
    directory_, _, base = path.rpartition("/")
    return file(f"{directory_}/.wh.{base}" if directory_ else f".wh.{base}", b"")


def opaque(directory_: str) -> Entry:
    return file(f"{directory_}/.wh..wh..opq", b"")


def tar(entries: list[Entry]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, body in entries:
            archive.addfile(info, io.BytesIO(body) if body is not None else None)
    return buffer.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=1)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    assert compression == "none"
    return data


def put(store: FilesystemStore, data: bytes) -> Digest:
    upload_id, digest = upload(store, data)
    store.commit(upload_id, digest)
    return digest


@dataclass
class Image:
    store: FilesystemStore

    def __post_init__(self) -> None:
        self.layers: list[Digest] = []

    def layer(self, entries: list[Entry], compression: str = "gzip") -> str:
        return self.raw_layer(compress(tar(entries), compression))

    def raw_layer(self, blob: bytes) -> str:
        digest = put(self.store, blob)
        self.layers.append(digest)
        return str(digest)

    def manifest(self) -> dict:
        config = put(self.store, b'{"architecture":"amd64","os":"linux","rootfs":{}}')
        return {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": str(config),
                "size": 10,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": str(d),
                    "size": self.store.stat(d),
                }
                for d in self.layers
            ],
        }
