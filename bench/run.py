"""Run every workload against Distribution and Dockyard in the same run; write the table.

.venv/bin/python bench/run.py [--quick] [--workers N] [--out docs/benchmarks.md]

Only the block between ``<!-- bench/run.py: begin -->`` and ``<!-- bench/run.py: end -->``
(``bench/run.py --workers N`` for another worker count) is replaced; the rest of the file
is kept, and a file without the markers is left alone with an error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import report, servers, workloads  # noqa: E402


def make_blob(size: int) -> Path:
    """A file of random bytes (written once, in RAM-backed /dev/shm when possible)."""
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    path = Path(folder) / f"dockyard-bench-{size}.bin"
    if not path.exists() or path.stat().st_size != size:
        with path.open("wb") as handle:
            block = os.urandom(1024 * 1024)
            for i in range(size // len(block)):
                handle.write(block[:-8] + i.to_bytes(8, "big"))
    return path


def measure(server: servers.Server, sizes: dict, blob: Path, blob_digest: str) -> dict:
    results: dict = {}
    steps = [
        lambda: workloads.push_monolithic(server, blob, blob_digest),
        lambda: workloads.push_chunked(server, blob, blob_digest),
        lambda: workloads.pull(server, blob_digest, blob.stat().st_size, 1),
        lambda: workloads.pull(server, blob_digest, blob.stat().st_size, 4),
        lambda: workloads.push_images(server, sizes["images"], 20, 256 * 1024),
        lambda: workloads.mounts(server, sizes["mounts"]),
        lambda: workloads.manifest_get(server, sizes["requests"]),
        lambda: workloads.blob_head(server, blob_digest, sizes["requests"]),
        lambda: workloads.tags_list(server, sizes["tags"]),
        lambda: workloads.catalog(server, sizes["repositories"]),
    ]
    for step in steps:
        os.sync()  # untimed: no workload pays for the disk writes the previous one left
        results.update(step())
        print(
            f"  {server.name}: {json.dumps({k: round(v, 2) for k, v in results.items()})}",
            file=sys.stderr,
        )
        results = dict(results)
    results["peak_rss_MiB"] = server.peak_rss / 2**20
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--workers", type=int, default=1, help="Dockyard worker processes")
    options = parser.parse_args()
    sizes = (
        {
            "blob": 32 * 2**20,
            "images": 5,
            "mounts": 100,
            "requests": 2000,
            "tags": 300,
            "repositories": 150,
        }
        if options.quick
        else {
            "blob": 512 * 2**20,
            "images": 50,
            "mounts": 2000,
            "requests": 20000,
            "tags": 10000,
            "repositories": 2000,
        }
    )
    blob = make_blob(sizes["blob"])
    blob_digest = workloads.file_digest(blob)
    results = {}
    for factory in (servers.distribution, lambda: servers.dockyard(options.workers)):
        server = factory()
        try:
            server.start()
            print(f"measuring {server.name} at {server.url}", file=sys.stderr)
            results[server.name] = measure(server, sizes, blob, blob_digest)
        finally:
            server.stop()
    context = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "memory_GiB": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "distribution": servers.distribution_version(),
        "command": " ".join(["bench/run.py", *sys.argv[1:]]),
        "sizes": sizes,
        "workers": options.workers,
    }
    raw = Path(__file__).parent / "results"
    raw.mkdir(exist_ok=True)
    (raw / "latest.json").write_text(json.dumps({"context": context, "results": results}, indent=2))
    table = report.markdown(context, results)
    out = Path(options.out)
    out.write_text(report.splice(out.read_text() if out.exists() else None, table, options.workers))
    print(table)


if __name__ == "__main__":
    main()
