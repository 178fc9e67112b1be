"""Start-up time and memory at rest: `dockyard serve` to its first answered request.

    .venv/bin/python bench/startup.py [--runs 5]

Each run starts a server on a fresh data folder (first start: migrations, keys) and then
again on the same folder (a restart), and reports the medians of the time to the first
answer on /v2/ and the RSS of each process of the tree once it answers.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import servers  # noqa: E402


def _first_answer(server: servers.Server) -> float:
    """Seconds from the process start to its first answer on /v2/."""
    began = time.perf_counter()
    server.start_process()
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(server.url + "/v2/", timeout=1).status_code in (200, 401):
                return time.perf_counter() - began
        if time.perf_counter() - began > 60:
            raise RuntimeError(f"no answer in 60 s; see {server.workdir}/server.log")
        time.sleep(0.01)


def _members_rss(server: servers.Server) -> list[float]:
    """MiB per process of the tree (supervisor first)."""
    sizes = []
    for pid in servers.process_tree(server.process.pid):
        with contextlib.suppress(OSError, IndexError):
            pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
            sizes.append(pages * servers.PAGE / 2**20)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    first, again, rss = [], [], []
    for _ in range(options.runs):
        server = servers.dockyard(1)
        try:
            first.append(_first_answer(server))
            server.stop_process()
            again.append(_first_answer(server))
            time.sleep(1.0)  # the background loops' first turns
            rss.append(_members_rss(server))
        finally:
            server.stop()
    print(f"first start to first answer: median {statistics.median(first):.2f} s {first}")
    print(f"restart to first answer:     median {statistics.median(again):.2f} s {again}")
    print(f"RSS per process at rest (MiB, supervisor first): {rss[-1]}")


if __name__ == "__main__":
    main()
