"""How fast the scanner reads a ~200 MB compressed image, and how much memory it takes.

.venv/bin/python bench/scan_speed.py [--megabytes 200] [--image DIR] [--repeat N] [--worker]

The image is built from this host's own files (see ``bench/scan_image.py``): a Debian
base with its real dpkg database and ``/usr``, a Python ``site-packages`` with real
``dist-info`` folders, npm's ``node_modules`` with real ``package.json`` files, and a
whiteout, gzip'd like Docker does. ``--image DIR`` keeps it (and reuses it next time).
Each scan runs in a fresh child process, so its peak RSS (VmHWM) is the scan's own;
``--worker`` also scans through the server's scan child (``ScanProcess``); ``--profile``
prints cProfile's top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import scan_image  # noqa: E402
from dockyard.oci.digest import Digest  # noqa: E402
from dockyard.scan.analyzer import Limits  # noqa: E402
from dockyard.scan.scanner import scan_image as scan  # noqa: E402
from dockyard.storage.filesystem import FilesystemStore  # noqa: E402

LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


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


def build(root: Path, megabytes: int) -> dict:
    """Layers into a filesystem store under ``root``; the manifest and what each holds."""
    store = FilesystemStore(root / "store")
    layers = scan_image.build(root, megabytes)
    described = []
    for layer in layers:
        digest = put(store, layer.path)
        described.append(
            {
                "mediaType": LAYER_TYPE,
                "digest": str(digest),
                "size": layer.compressed,
                "entries": layer.entries,
                "uncompressed": layer.uncompressed,
            }
        )
        layer.path.unlink()
    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 0},
        "layers": described,
    }


def peak_rss_mib() -> float:
    """This process's own high-water mark. (``getrusage`` would also count the parent's
    RSS at the fork that started us.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(root: Path, profile: bool) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    store = FilesystemStore(root / "store")
    profiler = cProfile.Profile() if profile else None
    cpu, started = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    inventory = scan(store, manifest, Limits())
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    result = {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "packages": dict(Counter(p.ecosystem for p in inventory.packages)),
        "unsupported": len(inventory.unsupported),
    }
    print(json.dumps(result), flush=True)
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)


def through_worker(root: Path, repeat: int) -> None:
    """The same scan the way the server runs it: in the scan child (SCHED_IDLE, memory
    cap, pausing while the machine is busy), timed from the job worker's side."""
    from dockyard.config import Settings
    from dockyard.workers.scan_process import ScanProcess

    manifest = json.loads((root / "manifest.json").read_text())
    settings = Settings(data_dir=root / "store")
    scanner = ScanProcess(settings)
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            inventory = scanner(FilesystemStore(root / "store"), manifest, Limits())
            seconds = time.perf_counter() - started
            status = Path(f"/proc/{scanner.pid}/status").read_text().splitlines()
            hwm = next(line for line in status if line.startswith("VmHWM:")).split()[1]
            result = {
                "via": "scan child",
                "seconds": round(seconds, 2),
                "child_peak_rss_mib": round(int(hwm) / 1024, 1),
                "packages": len(inventory.packages),
            }
            print(json.dumps(result), flush=True)
    finally:
        scanner.close()


def describe(manifest: dict) -> str:
    layers = manifest["layers"]
    compressed = sum(layer["size"] for layer in layers) / 1024**2
    raw = sum(layer["uncompressed"] for layer in layers) / 1024**2
    entries = sum(layer["entries"] for layer in layers)
    return (
        f"image: {len(layers)} layers, {compressed:.0f} MiB compressed, "
        f"{raw:.0f} MiB uncompressed, {entries} tar entries"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=200, help="compressed size (MiB)")
    parser.add_argument("--image", type=Path, help="build the image here once, then reuse it")
    parser.add_argument("--repeat", type=int, default=3, help="scans, each in a new process")
    parser.add_argument("--profile", action="store_true", help="cProfile the scan (slower)")
    parser.add_argument("--worker", action="store_true", help="also scan in the scan child")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.profile)
        return
    with tempfile.TemporaryDirectory() as scratch:
        root = args.image or Path(scratch)
        if not (root / "manifest.json").exists():
            root.mkdir(parents=True, exist_ok=True)
            began = time.perf_counter()
            manifest = build(root, args.megabytes)
            (root / "manifest.json").write_text(json.dumps(manifest))
            print(f"built in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        print(describe(json.loads((root / "manifest.json").read_text())))
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        command = [sys.executable, __file__, "--child", str(root)]
        for _ in range(args.repeat):
            subprocess.run(command + (["--profile"] if args.profile else []), check=True)
        if args.worker:
            through_worker(root, args.repeat)
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
