"""Push and pull one large blob through each storage setup, side by side in one run.

.venv/bin/python bench/s3_storage.py [--size-mib 512] [--quick]

Setups: Dockyard on its filesystem driver; Dockyard on S3 (a fresh local SeaweedFS, the
same server class the tests use); Dockyard on S3 with ``s3_redirect``; Distribution on
its own S3 driver against the same SeaweedFS, with its blob redirects off (it proxies
the bytes, like Dockyard's default) and on (its default). The CPU of the registry's
process tree and of SeaweedFS are measured apart, so a reader sees where the work went.
Raw figures go to bench/results/s3_storage.json; a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import servers, workloads  # noqa: E402
from bench.run import make_blob  # noqa: E402
from tests.support.seaweed import SeaweedS3  # noqa: E402


class Meters:
    """CPU seconds of the registry's tree and of SeaweedFS, read together."""

    def __init__(self, server: servers.Server, seaweed: SeaweedS3) -> None:
        self.server = server
        # The test helper keeps its process private; the bench only reads its CPU.
        self.seaweed_pid = seaweed._process.pid  # noqa: SLF001

    def read(self) -> tuple[float, float]:
        return self.server.cpu(), servers.tree_cpu(self.seaweed_pid)

    def per_gb(self, before: tuple[float, float], gigabytes: float, label: str) -> dict:
        server_cpu, seaweed_cpu = self.read()
        return {
            f"{label}_server_cpu_s_per_GB": (server_cpu - before[0]) / gigabytes,
            f"{label}_seaweed_cpu_s_per_GB": (seaweed_cpu - before[1]) / gigabytes,
        }


def push(meters: Meters, blob: Path, blob_digest: str, chunked: bool) -> dict:
    size_gb = blob.stat().st_size / 1e9
    before = meters.read()
    if chunked:
        result = workloads.push_chunked(meters.server, blob, blob_digest)
    else:
        result = workloads.push_monolithic(meters.server, blob, blob_digest)
    label = "push_chunked" if chunked else "push_mono"
    return {**result, **meters.per_gb(before, size_gb, label)}


def pull(meters: Meters, blob_digest: str, size: int, clients: int) -> dict:
    """``clients`` curls at once, following redirects (-L) as registry clients do."""
    url = f"{meters.server.url}/v2/bench/mono/blobs/{blob_digest}"
    report = "%{size_download} %{num_redirects}"
    command = ["curl", "-s", "-f", "-L", "-o", "/dev/null", "-w", report]
    before = meters.read()
    began = time.perf_counter()
    procs = [
        subprocess.Popen([*command, url], stdout=subprocess.PIPE, text=True) for _ in range(clients)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    seconds = time.perf_counter() - began
    assert all(p.returncode == 0 for p in procs), f"{meters.server.name} pull failed: {outputs}"
    received = [out.split() for out in outputs]
    assert all(int(got) == size for got, _ in received), f"short pull: {outputs}"
    label = f"pull_{clients}"
    return {
        f"{label}_MBps": size * clients / seconds / 1e6,
        f"{label}_redirects": int(received[0][1]),
        **meters.per_gb(before, size * clients / 1e9, label),
    }


def distribution_s3(seaweed: SeaweedS3, redirect: bool) -> servers.Server:
    """Debian's Distribution 2.8 on its s3-aws driver (path-style once regionendpoint is set)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-distribution-s3-"))
    port = servers.free_port()
    root = "/distribution-redirect" if redirect else "/distribution"
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        "storage:\n"
        "  s3:\n"
        f"    region: {seaweed.region}\n"
        f"    bucket: {seaweed.bucket}\n"
        f"    regionendpoint: {seaweed.endpoint}\n"
        f"    accesskey: {seaweed.access_key}\n"
        f"    secretkey: {seaweed.secret_key}\n"
        "    secure: false\n"
        "    v4auth: true\n"
        f"    rootdirectory: {root}\n"
        "  delete:\n    enabled: true\n"
        f"  redirect:\n    disable: {'false' if redirect else 'true'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    name = "Distribution S3" + (" redirect" if redirect else "")
    command = [servers.DISTRIBUTION, "serve", str(config)]
    # aws-sdk-go loads AWS_CA_BUNDLE into the HTTP transport, and Distribution 2.8 hands
    # it a transport of its own type: the start panics ("LoadCustomCABundleError ...
    # unsupported transport"). The endpoint is plain HTTP, so no bundle is needed.
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    return servers.Server(name, command, env, port, workdir)


def dockyard_s3(seaweed: SeaweedS3, redirect: bool) -> servers.Server:
    server = servers.dockyard(
        1,
        {
            "STORAGE": "s3",
            "S3_ENDPOINT": seaweed.endpoint,
            "S3_BUCKET": seaweed.bucket,
            "S3_REGION": seaweed.region,
            "S3_ACCESS_KEY": seaweed.access_key,
            "S3_SECRET_KEY": seaweed.secret_key,
            "S3_PREFIX": "dockyard-redirect" if redirect else "dockyard",
            "S3_REDIRECT": "true" if redirect else "false",
            "METRICS_LISTEN": "",  # its default port may be taken by another run
        },
    )
    server.name = "Dockyard S3" + (" redirect" if redirect else "")
    return server


def dockyard_filesystem() -> servers.Server:
    server = servers.dockyard(1, {"METRICS_LISTEN": ""})
    server.name = "Dockyard filesystem"
    return server


def measure(server: servers.Server, seaweed: SeaweedS3, blob: Path, blob_digest: str) -> dict:
    meters = Meters(server, seaweed)
    size = blob.stat().st_size
    steps: list[Callable[[], dict]] = [
        lambda: push(meters, blob, blob_digest, chunked=False),
        lambda: push(meters, blob, blob_digest, chunked=True),
        lambda: pull(meters, blob_digest, size, 1),
        lambda: pull(meters, blob_digest, size, 4),
    ]
    results: dict = {}
    for step in steps:
        os.sync()  # untimed: no step pays for the writes the previous one left
        results.update(step())
        shown = {k: round(v, 2) for k, v in results.items()}
        print(f"  {server.name}: {json.dumps(shown)}", file=sys.stderr)
    results["peak_rss_MiB"] = server.peak_rss / 2**20
    return results


def idle_rate(seaweed: SeaweedS3, seconds: float = 5.0) -> float:
    """SeaweedFS's CPU seconds per second when nobody calls it (heartbeats, background)."""
    pid = seaweed._process.pid  # noqa: SLF001
    before = servers.tree_cpu(pid)
    time.sleep(seconds)
    return (servers.tree_cpu(pid) - before) / seconds


ROWS = [
    ("push_mono_MBps", "push, monolithic PUT", "MB/s"),
    ("push_mono_server_cpu_s_per_GB", "  registry CPU per GB", "CPU s/GB"),
    ("push_mono_seaweed_cpu_s_per_GB", "  SeaweedFS CPU per GB", "CPU s/GB"),
    ("push_chunked_MBps", "push, 16 MiB PATCH chunks", "MB/s"),
    ("push_chunked_server_cpu_s_per_GB", "  registry CPU per GB", "CPU s/GB"),
    ("push_chunked_seaweed_cpu_s_per_GB", "  SeaweedFS CPU per GB", "CPU s/GB"),
    ("pull_1_MBps", "pull, 1 client", "MB/s"),
    ("pull_1_server_cpu_s_per_GB", "  registry CPU per GB", "CPU s/GB"),
    ("pull_1_seaweed_cpu_s_per_GB", "  SeaweedFS CPU per GB", "CPU s/GB"),
    ("pull_4_MBps", "pull, 4 clients", "MB/s"),
    ("pull_4_server_cpu_s_per_GB", "  registry CPU per GB", "CPU s/GB"),
    ("pull_4_seaweed_cpu_s_per_GB", "  SeaweedFS CPU per GB", "CPU s/GB"),
    ("pull_1_redirects", "redirects the client followed", "count"),
    ("peak_rss_MiB", "registry peak RSS", "MiB"),
]


def table(results: dict) -> str:
    names = list(results)
    lines = [
        "| measurement | unit | " + " | ".join(names) + " |",
        "|---|---|" + "---:|" * len(names),
    ]
    for key, label, unit in ROWS:
        cells = []
        for name in names:
            value = results[name].get(key)
            if value is None:
                cells.append("n/a")
            else:
                cells.append(f"{value:,.2f}" if value < 100 else f"{value:,.0f}")
        lines.append(f"| {label} | {unit} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=512, help="blob size")
    parser.add_argument("--quick", action="store_true", help="a 32 MiB blob, for a smoke run")
    parser.add_argument(
        "--only", default="", help="comma-separated setup names to run (default: all)"
    )
    options = parser.parse_args()
    size = (32 if options.quick else options.size_mib) * 2**20
    blob = make_blob(size)
    blob_digest = workloads.file_digest(blob)
    folder = Path(tempfile.mkdtemp(prefix="bench-seaweed-"))
    seaweed = SeaweedS3(folder)
    seaweed.start()
    setups: dict[str, Callable[[], servers.Server]] = {
        "Dockyard filesystem": dockyard_filesystem,
        "Dockyard S3": lambda: dockyard_s3(seaweed, redirect=False),
        "Dockyard S3 redirect": lambda: dockyard_s3(seaweed, redirect=True),
        "Distribution S3": lambda: distribution_s3(seaweed, redirect=False),
        "Distribution S3 redirect": lambda: distribution_s3(seaweed, redirect=True),
    }
    wanted = [n.strip() for n in options.only.split(",") if n.strip()] or list(setups)
    results: dict = {}
    errors: dict = {}
    try:
        seaweed_idle = idle_rate(seaweed)
        for name in wanted:
            server = setups[name]()
            try:
                server.start()
                print(f"measuring {name} at {server.url}", file=sys.stderr)
                results[name] = measure(server, seaweed, blob, blob_digest)
            except (AssertionError, RuntimeError, subprocess.SubprocessError) as exc:
                errors[name] = str(exc)
                print(f"  {name} failed: {exc}", file=sys.stderr)
                log = server.workdir / "server.log"
                if log.exists():
                    errors[name] += "\n" + log.read_text()[-3000:]
            finally:
                server.stop()
    finally:
        seaweed.stop()
    context = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "blob_bytes": size,
        "distribution": servers.distribution_version(),
        "seaweed_idle_cpu_s_per_s": seaweed_idle,
        "load_average": os.getloadavg(),
        "command": " ".join(["bench/s3_storage.py", *sys.argv[1:]]),
    }
    raw = Path(__file__).parent / "results"
    raw.mkdir(exist_ok=True)
    out = {"context": context, "results": results, "errors": errors}
    (raw / "s3_storage.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(context))
    print(table(results))
    for name, error in errors.items():
        print(f"\n{name} FAILED:\n{error}")
    if errors:
        print(f"(SeaweedFS folder kept for inspection: {folder})", file=sys.stderr)
    else:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
