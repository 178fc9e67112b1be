"""Does scanning slow pushes and pulls? The same workloads with scan_on_push off and on.

.venv/bin/python bench/scan_impact.py [--rounds 3] [--megabytes 200] [--scans 12] [--quick]

Each run starts a fresh Dockyard (one worker process, SQLite, filesystem driver), pushes
a realistic image (``bench/scan_image.py``: Debian base, Python and npm packages) and then
``--scans`` manifests that share its layers but differ in their config, so each is a scan
of its own. With scan_on_push on, the measured window starts once the server's job worker
is scanning, and the script checks that scans were still queued or running when it ended:
the numbers are pushes and pulls *while scans run*. With it off the same pushes are made
and nothing is scanned. Runs alternate off/on, on/off, ... to cancel drift; medians are
reported, with the on/off ratio (1.0 = no effect; the target is at least 0.9).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import scan_image, servers, workloads  # noqa: E402
from bench.run import make_blob  # noqa: E402

CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
PENDING = ("queued", "scanning")
# (key, label, higher is better)
ROWS = [
    ("push_mono_MBps", "512 MiB blob push, monolithic (MB/s)", True),
    ("push_chunked_MBps", "512 MiB blob push, 16 MiB chunks (MB/s)", True),
    ("images_per_s", "image push, 20 × 256 KiB layers, concurrency 8 (images/s)", True),
    ("pull_1_MBps", "512 MiB blob pull, 1 client, 3 times (MB/s)", True),
    ("pull_4_MBps", "512 MiB blob pull, 4 clients, 3 times (MB/s)", True),
    ("manifest_get_rps", "manifest GET, concurrency 64 (req/s)", True),
    ("manifest_get_p99_ms", "manifest GET p99 (ms)", False),
]

CONTEXT = [
    "load",
    "window_s",
    "serving_cpu_s",
    "scan_child_cpu_s",
    "scans_done_in_window",
    "scans_pending_at_end",
    "peak_rss_MiB",
]


def _curl_put(url: str, path: Path, digest: str) -> None:
    location = workloads._start(url, "scan/app")
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-T", str(path)]
        + ["-H", "Content-Type: application/octet-stream"]
        + [workloads._with_digest(location, digest)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.stdout == "201", f"layer push: {out.stdout} {out.stderr}"


def seed(server: servers.Server, layers: list[tuple[Path, str]], scans: int) -> list[str]:
    """The realistic image's layers once, then ``scans`` manifests over them; their digests."""
    for path, digest in layers:
        _curl_put(server.url, path, digest)
    descriptors = [
        {"mediaType": LAYER_TYPE, "digest": d, "size": p.stat().st_size} for p, d in layers
    ]
    digests = []
    with httpx.Client(timeout=60) as client:
        for i in range(scans):
            config = json.dumps({"architecture": "amd64", "os": "linux", "n": i}).encode()
            config_digest = workloads.digest(config)
            config_desc = {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config)}
            location = workloads._start(server.url, "scan/app")
            put = client.put(workloads._with_digest(location, config_digest), content=config)
            assert put.status_code == 201, put.text
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": workloads.OCI_MANIFEST,
                    "config": config_desc,
                    "layers": descriptors,
                }
            ).encode()
            resp = client.put(
                f"{server.url}/v2/scan/app/manifests/s{i}",
                content=manifest,
                headers={"Content-Type": workloads.OCI_MANIFEST},
            )
            assert resp.status_code == 201, resp.text
            digests.append(workloads.digest(manifest))
    return digests


def child_cpu(server: servers.Server) -> float:
    """CPU seconds of the server's scan children (the rest of the tree is serving)."""
    total = 0.0
    for pid in servers.process_tree(server.process.pid):
        try:
            if b"dockyard.workers.scan_process" in Path(f"/proc/{pid}/cmdline").read_bytes():
                total += servers.tree_cpu(pid)
        except OSError:
            continue
    return total


def scan_states(server: servers.Server, digests: list[str]) -> dict[str, int]:
    """How many of ``digests`` are in each scan state (read from the server's SQLite)."""
    database = server.workdir / "data" / "dockyard.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as conn:
        marks = ",".join("?" * len(digests))
        rows = conn.execute(
            f"SELECT status, count(*) FROM scans WHERE digest IN ({marks}) GROUP BY status",
            digests,
        ).fetchall()
    return dict(rows)


def wait_for_scanning(server: servers.Server, digests: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = scan_states(server, digests)
        if states.get("scanning") or states.get("done"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"no scan started within {timeout} s: {states}")


def pulls(server: servers.Server, blob_digest: str, size: int, clients: int) -> dict:
    """Three pulls back to back, as one figure (one 512 MiB pull is a fraction of a second)."""
    began = time.perf_counter()
    for _ in range(3):
        workloads.pull(server, blob_digest, size, clients)
    seconds = time.perf_counter() - began
    return {f"pull_{clients}_MBps": 3 * size * clients / seconds / 1e6}


def window(server: servers.Server, blob: Path, blob_digest: str, sizes: dict) -> dict:
    size = blob.stat().st_size
    steps = [
        lambda: workloads.push_monolithic(server, blob, blob_digest),
        lambda: workloads.push_chunked(server, blob, blob_digest),
        lambda: workloads.push_images(server, sizes["images"], 20, 256 * 1024),
        lambda: pulls(server, blob_digest, size, 1),
        lambda: pulls(server, blob_digest, size, 4),
        lambda: workloads.manifest_get(server, sizes["requests"]),
    ]
    results: dict = {}
    for step in steps:
        os.sync()  # untimed: no workload pays for the previous one's writes
        results.update(step())
    return results


def one_run(scanning: bool, image: list[tuple[Path, str]], blob: Path, options) -> dict:  # noqa: ANN001
    settings = {"SCAN_ON_PUSH": "true" if scanning else "false"}
    server = servers.dockyard(1, settings)
    try:
        server.start()
        digests = seed(server, image, options.scans)
        os.sync()
        if scanning:
            wait_for_scanning(server, digests)
        else:
            time.sleep(1.0)  # as long as a scan takes to start, so both runs settle alike
        load = os.getloadavg()[0]
        before, began = scan_states(server, digests), time.perf_counter()
        cpu, scan_cpu = server.cpu(), child_cpu(server)
        results = window(server, blob, options.blob_digest, options.sizes)
        after = scan_states(server, digests)
        scan_cpu = child_cpu(server) - scan_cpu
        results.update(
            window_s=time.perf_counter() - began,
            serving_cpu_s=server.cpu() - cpu - scan_cpu,
            scan_child_cpu_s=scan_cpu,
            load=load,
            peak_rss_MiB=server.peak_rss / 2**20,
            scans_done_in_window=after.get("done", 0) - before.get("done", 0),
            scans_pending_at_end=sum(after.get(s, 0) for s in PENDING),
            scans_failed=after.get("failed", 0),
        )
        if scanning:
            assert results["scans_pending_at_end"], "the scans ended before the window: add --scans"
        return results
    finally:
        server.stop()


def report(runs: dict[str, list[dict]]) -> str:
    lines = [
        "| workload | scan_on_push off | on, scans running | on ÷ off |",
        "|---|---:|---:|---:|",
    ]
    for key, label, higher in ROWS:
        off = statistics.median(r[key] for r in runs["off"])
        on = statistics.median(r[key] for r in runs["on"])
        ratio = on / off if higher else off / on
        lines.append(f"| {label} | {off:,.1f} | {on:,.1f} | {ratio:.2f} |")
    lines.append("")
    lines.append("| per run (median) | off | on |")
    lines.append("|---|---:|---:|")
    for key in CONTEXT:
        off = statistics.median(r[key] for r in runs["off"])
        on = statistics.median(r[key] for r in runs["on"])
        lines.append(f"| {key} | {off:,.2f} | {on:,.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each mode")
    parser.add_argument("--megabytes", type=int, default=200, help="the scanned image (MiB)")
    parser.add_argument("--scans", type=int, default=12, help="manifests queued per run")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", type=Path, help="also write the raw results here (JSON)")
    options = parser.parse_args()
    blob_size = 32 * 2**20 if options.quick else 512 * 2**20
    options.sizes = (
        {"images": 5, "requests": 2000}
        if options.quick
        else {
            "images": 30,
            "requests": 10000,
        }
    )
    blob = make_blob(blob_size)
    options.blob_digest = workloads.file_digest(blob)
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as tmp:
        layers = scan_image.build(Path(tmp), options.megabytes)
        image = [(layer.path, workloads.file_digest(layer.path)) for layer in layers]
        size = sum(layer.compressed for layer in layers) / 2**20
        print(f"image: {len(layers)} layers, {size:.0f} MiB compressed", file=sys.stderr)
        for i in range(options.rounds):
            order = ("off", "on") if i % 2 == 0 else ("on", "off")
            for mode in order:
                result = one_run(mode == "on", image, blob, options)
                runs[mode].append(result)
                shown = {k: round(v, 2) for k, v in result.items()}
                print(f"round {i + 1} {mode}: {json.dumps(shown)}", file=sys.stderr)
    if options.out:
        options.out.write_text(json.dumps(runs, indent=2))
    print(report(runs))


if __name__ == "__main__":
    main()
