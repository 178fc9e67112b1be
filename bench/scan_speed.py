"""How fast the scanner reads a ~200 MB compressed image, and how much memory it takes.

.venv/bin/python bench/scan_speed.py [--megabytes 200] [--files 20000]

The image is synthetic but shaped like a Debian base with extras: the host's real dpkg
status file, os-release, many small files and enough incompressible bytes to reach the
size; a second layer rewrites the status file. The scan runs in a child process so its
peak RSS is its own.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dockyard.oci.digest import Digest  # noqa: E402
from dockyard.scan.analyzer import Limits  # noqa: E402
from dockyard.scan.scanner import scan_image  # noqa: E402
from dockyard.storage.filesystem import FilesystemStore  # noqa: E402

OS_RELEASE = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def write_layer(path: Path, megabytes: int, files: int) -> None:
    status = Path("/var/lib/dpkg/status").read_bytes()
    block = os.urandom(1024 * 1024)
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        _add(archive, "etc/os-release", OS_RELEASE)
        _add(archive, "var/lib/dpkg/status", status)
        for i in range(files):
            _add(archive, f"usr/share/doc/pkg{i % 900}/file{i}.txt", b"some text\n" * 200)
        for i in range(megabytes):
            _add(archive, f"usr/lib/blob/{i}.so", block[:-8] + i.to_bytes(8, "big"))


def put(store: FilesystemStore, path: Path) -> Digest:
    upload_id = str(uuid.uuid4())
    store.begin_upload(upload_id)
    writer = store.append(upload_id, 0)
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            hasher.update(chunk)
            writer.write(chunk)
    writer.close()
    digest = Digest("sha256", hasher.hexdigest())
    store.commit(upload_id, digest)
    return digest


def build(root: Path, megabytes: int, files: int) -> dict:
    store = FilesystemStore(root / "store")
    base = root / "base.tar.gz"
    write_layer(base, megabytes, files)
    top = root / "top.tar"
    with tarfile.open(top, "w") as archive:
        _add(archive, "var/lib/dpkg/status", Path("/var/lib/dpkg/status").read_bytes())
    layers = [put(store, base), put(store, top)]
    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "",
            "size": 0,
        },
        "layers": [{"digest": str(d), "size": store.stat(d)} for d in layers],
    }


def peak_rss_mib() -> float:
    """This process's own high-water mark. (``getrusage`` would also count the parent's
    RSS at the fork that started us, which here is the image builder's.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scan(root: Path) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    started = time.perf_counter()
    inventory = scan_image(FilesystemStore(root / "store"), manifest, Limits())
    seconds = time.perf_counter() - started
    rss = peak_rss_mib()
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "peak_rss_mib": round(rss, 1),
                "packages": len(inventory.packages),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--scan", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scan:
        scan(args.scan)
        return
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "manifest.json").write_text(json.dumps(build(root, args.megabytes, args.files)))
        compressed = sum(p.stat().st_size for p in (root / "store").rglob("*") if p.is_file())
        print(f"image: {compressed / 1024**2:.0f} MiB compressed, {args.files} small files")
        subprocess.run([sys.executable, __file__, "--scan", str(root)], check=True)


if __name__ == "__main__":
    main()
