"""Run every workload against Distribution and Dockyard in the same run; write the table.

.venv/bin/python bench/run.py [--quick] [--workers N] [--auth] [--out docs/benchmarks.md]
.venv/bin/python bench/run.py --only manifest_get,blob_head --no-distribution --auth
.venv/bin/python bench/run.py --postgres   # and Dockyard on the local PostgreSQL

``--auth`` measures Dockyard a second time with token auth on (bearer tokens from
/jwt/auth on every request, bench/credentials.py) and adds its column and its ratio to
auth off. ``--only`` runs some workloads (``push_mono`` is always run first: the pulls
and the blob HEADs read its blob); a partial run prints its table and leaves the file alone.

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


def measure(
    server: servers.Server, sizes: dict, blob: Path, blob_digest: str, only: set[str]
) -> dict:
    results: dict = {}
    size = blob.stat().st_size
    steps = {
        "push_mono": lambda: workloads.push_monolithic(server, blob, blob_digest),
        "push_chunked": lambda: workloads.push_chunked(server, blob, blob_digest),
        "pull_1": lambda: workloads.pull(server, blob_digest, size, 1),
        "pull_4": lambda: workloads.pull(server, blob_digest, size, 4),
        "images": lambda: workloads.push_images(server, sizes["images"], 20, 256 * 1024),
        "mounts": lambda: workloads.mounts(server, sizes["mounts"]),
        "manifest_get": lambda: workloads.manifest_get(server, sizes["requests"]),
        "blob_head": lambda: workloads.blob_head(server, blob_digest, sizes["requests"]),
        "tags": lambda: workloads.tags_list(server, sizes["tags"]),
        "catalog": lambda: workloads.catalog(server, sizes["repositories"]),
    }
    for name, step in steps.items():
        if only and name not in only and name != "push_mono":
            continue
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
    parser.add_argument("--auth", action="store_true", help="also Dockyard with token auth")
    parser.add_argument("--postgres", action="store_true", help="also Dockyard on PostgreSQL")
    parser.add_argument("--no-distribution", action="store_true", help="Dockyard only")
    parser.add_argument("--only", default="", help="comma-separated workloads (see measure)")
    options = parser.parse_args()
    only = {name for name in options.only.split(",") if name}
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
    factories = [lambda: servers.dockyard(options.workers)]
    if not options.no_distribution:
        factories.insert(0, servers.distribution)
    if options.auth:
        factories.append(lambda: servers.dockyard(options.workers, auth=True))
    if options.postgres:
        factories.append(lambda: servers.dockyard(options.workers, postgres=True))
    for factory in factories:
        server = factory()
        try:
            server.start()
            print(f"measuring {server.name} at {server.url}", file=sys.stderr)
            results[server.name] = measure(server, sizes, blob, blob_digest, only)
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
    name = "partial.json" if only or options.no_distribution else "latest.json"
    (raw / name).write_text(json.dumps({"context": context, "results": results}, indent=2))
    table = report.markdown(context, results)
    if only or options.no_distribution:  # never replaces the full run's table
        print(table)
        return
    out = Path(options.out)
    out.write_text(report.splice(out.read_text() if out.exists() else None, table, options.workers))
    print(table)


if __name__ == "__main__":
    main()
