"""A running scan's cost to pushes and pulls, measured in pairs on one server.

.venv/bin/python bench/scan_impact_paired.py [--rounds 6] [--megabytes 200] [--scans 40]

``bench/scan_impact.py`` compares two servers run a minute apart; on a machine shared with
other work the load moves more than that between runs (pushes varied 2-3x between runs of
the same mode). Here one server (scan_on_push on) scans the realistic image's manifests
the whole time, and each workload runs twice in a row: once with the scan child stopped
(SIGSTOP: the scan is paused, nothing else changes) and once with it running, in ABBA
order across rounds. Each pair is a few seconds apart, so the ratio of the two is what
the running scan costs; the medians of the per-pair ratios are reported (1.0 = no
effect; the target is at least 0.9). The script checks that the child used CPU during
the running halves and that scans were still queued at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import scan_image, servers, workloads  # noqa: E402
from bench.run import make_blob  # noqa: E402
from bench.scan_impact import PENDING, ROWS, pulls, scan_states, seed, wait_for_scanning  # noqa: E402

CHILD = b"dockyard.workers.scan_process"


def scan_child(server: servers.Server, timeout: float = 30) -> int:
    """The server's scan child (started with the first scan)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in servers.process_tree(server.process.pid):
            try:
                if CHILD in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return pid
            except OSError:
                continue
        time.sleep(0.1)
    raise RuntimeError("the server started no scan child")


def steps(server: servers.Server, blob: Path, blob_digest: str, sizes: dict) -> list:
    size = blob.stat().st_size
    return [
        lambda: workloads.push_monolithic(server, blob, blob_digest),
        lambda: workloads.push_chunked(server, blob, blob_digest),
        lambda: workloads.push_images(server, sizes["images"], 20, 256 * 1024),
        lambda: pulls(server, blob_digest, size, 1),
        lambda: pulls(server, blob_digest, size, 4),
        lambda: workloads.manifest_get(server, sizes["requests"]),
    ]


def measure(image: list[tuple[Path, str]], blob: Path, options) -> tuple[dict, dict]:  # noqa: ANN001
    """Per metric, the (paused, running) pairs; and what the scans did meanwhile."""
    server = servers.dockyard(1, {"SCAN_ON_PUSH": "true"})
    pairs: dict[str, list[tuple[float, float]]] = {key: [] for key, _, _ in ROWS}
    child = None
    try:
        server.start()
        digests = seed(server, image, options.scans)
        wait_for_scanning(server, digests)
        child = scan_child(server)
        workloads.push_monolithic(server, blob, options.blob_digest)  # untimed: now stored
        scan_cpu, loads = 0.0, []
        for round_ in range(options.rounds):
            loads.append(os.getloadavg()[0])
            for step in steps(server, blob, options.blob_digest, options.sizes):
                got = {}
                for running in (False, True) if round_ % 2 == 0 else (True, False):
                    os.kill(child, signal.SIGCONT if running else signal.SIGSTOP)
                    os.sync()
                    cpu = servers.tree_cpu(child)
                    got[running] = step()
                    if running:
                        scan_cpu += servers.tree_cpu(child) - cpu
                for key in pairs:
                    if key in got[True]:
                        pairs[key].append((got[False][key], got[True][key]))
            print(f"round {round_ + 1}: load {loads[-1]:.2f}", file=sys.stderr)
        os.kill(child, signal.SIGCONT)  # the last pair may have left it stopped
        states = scan_states(server, digests)
        assert scan_cpu > 0, "the scan child did no work while running"
        assert sum(states.get(s, 0) for s in PENDING), "the scans ran out: add --scans"
        return pairs, {
            "load_median": statistics.median(loads),
            "scan_child_cpu_s_while_running": scan_cpu,
            "scans": states,
            "peak_rss_MiB": server.peak_rss / 2**20,
        }
    finally:
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGCONT)
        server.stop()


def report(pairs: dict[str, list[tuple[float, float]]]) -> str:
    lines = [
        "| workload | scan paused | scan running | running ÷ paused, median of pairs |",
        "|---|---:|---:|---:|",
    ]
    for key, label, higher in ROWS:
        paused = statistics.median(p for p, _ in pairs[key])
        running = statistics.median(r for _, r in pairs[key])
        ratios = [(r / p if higher else p / r) for p, r in pairs[key]]
        lines.append(
            f"| {label} | {paused:,.1f} | {running:,.1f} | {statistics.median(ratios):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6, help="pairs per workload")
    parser.add_argument("--megabytes", type=int, default=200, help="the scanned image (MiB)")
    parser.add_argument("--scans", type=int, default=40, help="manifests queued")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--out", type=Path, help="also write the raw pairs here (JSON)")
    options = parser.parse_args()
    blob = make_blob(32 * 2**20 if options.quick else 512 * 2**20)
    options.blob_digest = workloads.file_digest(blob)
    options.sizes = (
        {"images": 5, "requests": 2000} if options.quick else {"images": 30, "requests": 10000}
    )
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as tmp:
        layers = scan_image.build(Path(tmp), options.megabytes)
        image = [(layer.path, workloads.file_digest(layer.path)) for layer in layers]
        pairs, context = measure(image, blob, options)
    if options.out:
        options.out.write_text(json.dumps({"pairs": pairs, "context": context}, indent=2))
    print(json.dumps(context))
    print(report(pairs))


if __name__ == "__main__":
    main()
