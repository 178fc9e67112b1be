"""Profile Dockyard under one benchmark workload: a flame graph and a text summary.

    python bench/profile.py mounts            # -> docs/flamegraphs/mounts.svg (+ .txt)
    python bench/profile.py blob_head --auth  # token auth on
    python bench/profile.py manifest_get --postgres  # metadata on the local PostgreSQL

py-spy samples every process of the server's tree (supervisor and workers) while the
workload runs; the summary lists where the worker's time goes, by function, both
"self" (on top of the stack) and "inclusive" (anywhere on it).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import servers, workloads  # noqa: E402
from bench.run import make_blob  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "flamegraphs"
SIZES = {"mounts": 2000, "images": 40, "requests": 20000, "tags": 10000}


def _workload(name: str, server: servers.Server, blob_digest: str) -> None:
    steps = {
        "mounts": lambda: workloads.mounts(server, SIZES["mounts"]),
        "images": lambda: workloads.push_images(server, SIZES["images"], 20, 256 * 1024),
        "manifest_get": lambda: workloads.manifest_get(server, SIZES["requests"]),
        "blob_head": lambda: workloads.blob_head(server, blob_digest, SIZES["requests"]),
        "tags": lambda: workloads.tags_list(server, SIZES["tags"]),
    }
    print(steps[name](), file=sys.stderr)


def _record(pid: int, raw: Path, svg: Path) -> list[subprocess.Popen]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")  # the venv's
    base = [spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
    base += ["--rate", "250"]
    return [
        subprocess.Popen([*base, "-f", "raw", "-o", str(raw)], stderr=subprocess.DEVNULL),
        subprocess.Popen([*base, "-f", "flamegraph", "-o", str(svg)], stderr=subprocess.DEVNULL),
    ]


def summarize(raw: Path, top: int = 40, within: str = "RegistryFirst.__call__") -> str:
    """Self and inclusive sample shares per function, from py-spy's collapsed stacks,
    counting only stacks inside ``within`` (request handling; not idle threads, the
    supervisor or the background children)."""
    own: collections.Counter[str] = collections.Counter()
    anywhere: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or within not in stack:
            continue
        frames = [_short(frame) for frame in stack.split(";")]
        frames = frames[next(i for i, f in enumerate(frames) if within in f) :]
        samples = int(count)
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            anywhere[frame] += samples
    total = total or 1
    lines = [f"{total} samples inside {within}", "", "self %   function"]
    lines += [f"{100 * n / total:5.1f}   {name}" for name, n in own.most_common(top)]
    lines += ["", "incl %   function"]
    lines += [f"{100 * n / total:5.1f}   {name}" for name, n in anywhere.most_common(top)]
    return "\n".join(lines) + "\n"


def _short(frame: str) -> str:
    """``Route.matches (starlette/routing.py:40)`` -> ``Route.matches routing.py``."""
    function, _, where = frame.partition(" (")
    return f"{function} {where.rsplit('/', 1)[-1].split(':')[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "workload", choices=["mounts", "images", "manifest_get", "blob_head", "tags"]
    )
    parser.add_argument("--auth", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    options = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    stem = (
        options.workload
        + ("-auth" if options.auth else "")
        + ("-postgres" if options.postgres else "")
    )
    raw, svg = OUT / f"{stem}.raw", OUT / f"{stem}.svg"
    blob = make_blob(4 * 2**20)
    server = servers.dockyard(1, auth=options.auth, postgres=options.postgres)
    server.start()
    try:
        blob_digest = workloads.file_digest(blob)
        workloads.push_monolithic(server, blob, blob_digest)  # what HEAD and GET ask for
        recorders = _record(server.process.pid, raw, svg)
        time.sleep(1.0)  # py-spy attaches
        _workload(options.workload, server, blob_digest)
        for recorder in recorders:
            recorder.send_signal(2)  # SIGINT: py-spy writes its output and exits
        for recorder in recorders:
            recorder.wait(30)
    finally:
        server.stop()
    (OUT / f"{stem}.txt").write_text(summarize(raw))
    print((OUT / f"{stem}.txt").read_text()[:3000])


if __name__ == "__main__":
    main()
