"""A realistic image to scan, made from this host's own files (nothing is downloaded).

Shaped like ``python:3.11-bookworm`` with an ``npm install`` on top, layer by layer:

1. base: the host's ``etc/os-release`` and ``var/lib/dpkg`` (the real ``status`` and the
   ``info/*`` lists), then real files from ``/usr`` (executables with their modes, shared
   libraries, documentation, symlinks and directories) until the image reaches the size
   asked for; past the end of ``/usr`` the walk starts again under another folder;
2. apt: ``var/lib/dpkg/status`` written again, as every ``apt-get install`` does;
3. python: this interpreter's real ``site-packages`` (``*.dist-info`` folders with their
   ``METADATA``, and the code) under ``usr/local/lib/python3.11/site-packages``, less
   Playwright's browser driver (a test tool's 165 MB, not an application's);
4. npm: the host's ``/usr/lib/node_modules`` (npm and its dependencies, each with its
   real ``package.json``) under ``usr/local/lib/node_modules``;
5. cleanup: a whiteout that removes one Python distribution (``pip uninstall``).

Layers are gzip at level 6, as Docker and containerd write them, so the compression
ratio and the decompression work are those of a real image, not of random bytes.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import sysconfig
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

LEVEL = 6
SITE = "usr/local/lib/python3.11/site-packages"
NODE = "usr/local/lib/node_modules"
HOST_NODE = Path("/usr/lib/node_modules")


@dataclass
class Layer:
    path: Path
    entries: int = 0
    uncompressed: int = 0

    @property
    def compressed(self) -> int:
        return self.path.stat().st_size


class _Writer:
    """A gzip'd tar being written, which knows how many compressed bytes it holds."""

    def __init__(self, layer: Layer, raw: BinaryIO, tar: tarfile.TarFile) -> None:
        self.layer = layer
        self._raw = raw
        self._tar = tar

    def compressed_so_far(self) -> int:
        return self._raw.tell()

    def data(self, name: str, body: bytes, mode: int = 0o644) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(body), mode
        self._tar.addfile(info, io.BytesIO(body))
        self._count(info)

    def host(self, source: Path, name: str) -> None:
        """A host file, folder or symlink as it is (mode, size, link target)."""
        try:
            info = self._tar.gettarinfo(str(source), arcname=name)
            # Whole seconds, as Docker writes them: a fractional mtime would cost every
            # entry a pax header that real layers do not have.
            info.mtime = int(info.mtime)
            if info.isreg():
                with source.open("rb") as handle:
                    self._tar.addfile(info, handle)
            elif info.isdir() or info.issym() or info.islnk():
                self._tar.addfile(info)
            else:
                return  # sockets, devices: not in images
        except OSError:
            return  # vanished or unreadable: a host detail, not part of the image
        self._count(info)

    def _count(self, info: tarfile.TarInfo) -> None:
        self.layer.entries += 1
        self.layer.uncompressed += info.size if info.isreg() else 0


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[_Writer]:
    with (
        path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=LEVEL, mtime=0) as packed,
        tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        yield _Writer(Layer(path), raw, tar)


def _tree(root: Path, skip: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Every entry under ``root`` in a stable order, folders before what they hold."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if Path(folder, d) not in skip)
        for name in sorted(dirs) + sorted(files):
            yield Path(folder, name)


def _add_tree(writer: _Writer, root: Path, under: str, skip: tuple[Path, ...] = ()) -> None:
    for path in _tree(root, skip):
        writer.host(path, f"{under}/{path.relative_to(root)}")


def base(path: Path, budget: int) -> Layer:
    """Debian's files, then ``/usr`` until ``budget`` compressed bytes are written."""
    with _writing(path) as writer:
        writer.host(Path("/etc/os-release"), "etc/os-release")  # on Debian a symlink to:
        writer.host(Path("/usr/lib/os-release"), "usr/lib/os-release")
        _add_tree(writer, Path("/var/lib/dpkg"), "var/lib/dpkg")
        rounds = 0
        while writer.compressed_so_far() < budget:
            under = "usr" if rounds == 0 else f"opt/copy{rounds}/usr"
            for entry in _tree(Path("/usr"), skip=(HOST_NODE,)):
                if writer.compressed_so_far() >= budget:
                    break
                writer.host(entry, f"{under}/{entry.relative_to('/usr')}")
            rounds += 1
    return writer.layer


def apt(path: Path) -> Layer:
    with _writing(path) as writer:
        writer.host(Path("/var/lib/dpkg/status"), "var/lib/dpkg/status")
    return writer.layer


def python(path: Path) -> Layer:
    site = Path(sysconfig.get_paths()["purelib"])
    with _writing(path) as writer:
        _add_tree(writer, site, SITE, skip=(site / "playwright",))
    return writer.layer


def npm(path: Path) -> Layer:
    with _writing(path) as writer:
        if HOST_NODE.is_dir():
            _add_tree(writer, HOST_NODE, NODE)
    return writer.layer


def cleanup(path: Path) -> Layer:
    """``pip uninstall`` of the first distribution: its dist-info is whited out."""
    first = min(Path(sysconfig.get_paths()["purelib"]).glob("*.dist-info"), default=None)
    with _writing(path) as writer:
        if first is not None:
            writer.data(f"{SITE}/.wh.{first.name}", b"")
    return writer.layer


def build(folder: Path, megabytes: int) -> list[Layer]:
    """The layers, bottom first; together about ``megabytes`` MiB compressed."""
    top = [python(folder / "3-python.tar.gz"), npm(folder / "4-npm.tar.gz")]
    top += [apt(folder / "2-apt.tar.gz"), cleanup(folder / "5-cleanup.tar.gz")]
    budget = megabytes * 1024**2 - sum(layer.compressed for layer in top)
    bottom = base(folder / "1-base.tar.gz", max(budget, 0))
    return [bottom, top[2], top[0], top[1], top[3]]
