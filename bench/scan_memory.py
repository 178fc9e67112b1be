"""The scan's memory at its worst: the largest files an analyzer holds, in the scan child.

.venv/bin/python bench/scan_memory.py [--megabytes 63]

Memory does not grow with an image's size (layers are streamed) but with the largest file
an analyzer parses whole, up to ``scan_max_file_bytes`` (64 MiB). Each case is a one-layer
image scanned the way the server does it (``ScanProcess``: the child at nice 19 with its
memory cap); the child's peak RSS (VmHWM) is read before it is closed:

- a fat jar, executable (so the Go analyzer wants it too), nesting a jar of the same size;
- a hostile ``package.json``: ``[1,1,1,...]``, a list of tens of millions of values;
- a hostile ``METADATA``: one header line of non-ASCII bytes, which the email parser
  decodes and copies many times over.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scan_speed import LAYER_TYPE, put  # noqa: E402
from dockyard.config import Settings  # noqa: E402
from dockyard.scan.analyzer import Limits  # noqa: E402
from dockyard.storage import open_store  # noqa: E402
from dockyard.workers.scan_process import MEMORY_LIMIT, ScanProcess  # noqa: E402

POM = b"groupId=com.example\nartifactId=app\nversion=1.0.0\n"


def _jar(filler: int, nested: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("META-INF/maven/com.example/app/pom.properties", POM)
        if nested is not None:
            archive.writestr("BOOT-INF/lib/inner.jar", nested)
        archive.writestr("blob.bin", os.urandom(filler))
    return buffer.getvalue()


def cases(size: int) -> dict[str, tuple[str, bytes, int]]:
    """name: (path in the image, bytes, mode)."""
    inner = _jar(size - 2 * 1024**2)
    values = b"[" + b"1," * (size // 2 - 1) + b"1]"
    header = b"Metadata-Version: 2.1\nName: x\nVersion: 1\nX: " + b"\xe9" * (size - 64) + b"\n\n"
    return {
        "fat jar nesting a jar": ("app/app.jar", _jar(0, nested=inner), 0o755),
        "package.json of tiny values": ("app/node_modules/x/package.json", values, 0o644),
        "METADATA with a huge header": ("site/x-1.dist-info/METADATA", header, 0o644),
    }


def image(root: Path, path: str, data: bytes, mode: int) -> dict:
    layer = root / "layer.tar.gz"
    with (
        gzip.open(layer, "wb", compresslevel=1) as packed,
        tarfile.open(fileobj=packed, mode="w") as archive,
    ):
        info = tarfile.TarInfo(path)
        info.size, info.mode = len(data), mode
        archive.addfile(info, io.BytesIO(data))
    digest = put(open_store(Settings(data_dir=root)), layer)
    return {
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json"},
        "layers": [{"mediaType": LAYER_TYPE, "digest": str(digest), "size": 0}],
    }


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=63, help="size of each file (MiB)")
    options = parser.parse_args()
    print(f"memory cap of the scan child: {MEMORY_LIMIT / 1024**2:.0f} MiB (RLIMIT_DATA)")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name, (path, data, mode) in cases(options.megabytes * 1024**2).items():
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            manifest = image(root, path, data, mode)
            settings = Settings(data_dir=root)
            scanner = ScanProcess(settings)
            began = time.perf_counter()
            try:
                inventory = scanner(open_store(settings), manifest, Limits())
                peak = peak_rss_mib(scanner.pid)  # type: ignore[arg-type]
            finally:
                scanner.close()
            result = {
                "case": name,
                "file_MiB": round(len(data) / 1024**2, 1),
                "seconds": round(time.perf_counter() - began, 2),
                "child_peak_rss_MiB": round(peak, 1),
                "packages": [f"{p.name} {p.version}" for p in inventory.packages],
                "not_read": [u.rpartition(": ")[2] for u in inventory.unsupported],
            }
            print(json.dumps(result))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
