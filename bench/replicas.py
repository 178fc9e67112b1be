"""Manifest GETs through one Dockyard replica and through two, in one run.

.venv/bin/python bench/replicas.py [--requests 20000] [--rounds 3] [--quick]

Two replicas (one worker process each) share a fresh PostgreSQL database on the local
server and one SeaweedFS bucket (the deployment of deploy/replicas/). ApacheBench sends
the same GET at concurrency 64 (as bench/run.py does) four ways: straight to one replica;
split in two (32 + 32) straight to both; through HAProxy to one replica; and through
HAProxy round-robin to both. The cases are interleaved for ``--rounds`` rounds, so a
busy moment on the machine hits every case, and the median round is reported.

Besides req/s and latency, every case records the CPU seconds of each replica, of
HAProxy and of the load generator (ab), and how busy the whole machine was (from
/proc/stat), as shares of the machine's cores over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import servers, workloads  # noqa: E402
from tests.support.seaweed import SeaweedS3  # noqa: E402

PG_ADMIN_URL = servers.PG_ADMIN_URL
CONCURRENCY = 64
PATH = "/v2/bench/get/manifests/latest"
CORES = os.cpu_count() or 1


_ADMIN: list[psycopg.Connection] = []


def admin() -> psycopg.Connection:
    """One connection for the whole run: the server is shared and may be full later."""
    if not _ADMIN:
        _ADMIN.append(psycopg.connect(PG_ADMIN_URL, autocommit=True))
    return _ADMIN[0]


@contextmanager
def fresh_database() -> Iterator[str]:
    """An empty database on the local server, dropped afterwards (as tests/conftest.py does)."""
    name = servers.create_database()
    try:
        yield servers.database_url(name)
    finally:
        servers.drop_database(name)


class Balancer:
    """One HAProxy, two frontends: one to replica 1 only, one round-robin to both."""

    def __init__(self, folder: Path, replicas: list[servers.Server]) -> None:
        self.ports = {"one": servers.free_port(), "two": servers.free_port()}
        one, two = replicas
        config = folder / "haproxy.cfg"
        config.write_text(
            "global\n  maxconn 4096\n"
            "defaults\n  mode http\n  timeout connect 2s\n"
            "  timeout client 60s\n  timeout server 60s\n"
            f"frontend one\n  bind 127.0.0.1:{self.ports['one']}\n  default_backend one\n"
            f"frontend two\n  bind 127.0.0.1:{self.ports['two']}\n  default_backend two\n"
            f"backend one\n  server r1 127.0.0.1:{one.port}\n"
            "backend two\n  balance roundrobin\n"
            f"  server r1 127.0.0.1:{one.port}\n  server r2 127.0.0.1:{two.port}\n"
        )
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.log = (folder / "haproxy.log").open("wb")
        self.process = subprocess.Popen(
            [haproxy, "-db", "-f", str(config)], stdout=self.log, stderr=subprocess.STDOUT
        )
        for port in self.ports.values():
            _wait(f"http://127.0.0.1:{port}/v2/")

    def url(self, which: str) -> str:
        return f"http://127.0.0.1:{self.ports[which]}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ab(targets: list[str], requests: int, folder: Path) -> dict:
    """ab at CONCURRENCY in total, split evenly over ``targets``; latencies merged from
    each ab's per-request file (-g), so percentiles cover every request."""
    share = CONCURRENCY // len(targets)
    plots = [folder / f"ab-{i}.tsv" for i in range(len(targets))]
    procs = [
        subprocess.Popen(
            ["ab", "-q", "-k", "-c", str(share), "-n", str(requests // len(targets))]
            + ["-H", f"Accept: {workloads.OCI_MANIFEST}", "-g", str(plot), base + PATH],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for base, plot in zip(targets, plots, strict=True)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    total = errors = 0
    for out in outputs:
        failed = re.search(r"Failed requests:\s+(\d+)", out)
        assert failed, f"ab did not finish:\n{out}"
        non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
        # Counted and reported, not fatal: on a shared PostgreSQL a replica may be
        # refused a connection for a moment (see the replicas' logs in /tmp).
        errors += max(int(failed.group(1)), int(non2xx.group(1)) if non2xx else 0)
        total += int(re.search(r"Complete requests:\s+(\d+)", out).group(1))
    times: list[float] = []
    for plot in plots:
        lines = plot.read_text().splitlines()[1:]
        times.extend(float(line.split("\t")[4]) for line in lines if line)
    times.sort()
    return {
        "requests": total,
        "errors": errors,
        "p50_ms": times[len(times) // 2],
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
    }


def backend_pids(database: str) -> list[int]:
    """PostgreSQL's server processes serving ``database`` (the replicas' pools)."""
    name = database.rsplit("/", 1)[1]
    rows = (
        admin().execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall()
    )
    return [row[0] for row in rows]


def sessions(database: str) -> int:
    """Connections ever opened to ``database`` (pg_stat_database, PostgreSQL 14+)."""
    name = database.rsplit("/", 1)[1]
    admin().execute("SELECT pg_stat_clear_snapshot()")  # fresh figures, not cached ones
    row = (
        admin()
        .execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (name,))
        .fetchone()
    )
    return int(row[0]) if row and row[0] is not None else 0


async def _push_manifest(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        await workloads._push_image(session, url, "bench/get", [os.urandom(32)], "latest")  # noqa: SLF001


def read_cpu(meters: dict[str, int], database: str) -> dict:
    """CPU seconds per meter, and per PostgreSQL backend of our database."""
    cpu: dict = {label: servers.tree_cpu(pid) for label, pid in meters.items()}
    cpu["postgres"] = {pid: servers.tree_cpu(pid) for pid in backend_pids(database)}
    return cpu


def used_since(before: dict, after: dict) -> dict[str, float]:
    """CPU used between two ``read_cpu``s. A backend that appeared counts whole; one that
    exited meanwhile (the pool closes overflow connections) is lost, so PostgreSQL's
    figure is a lower bound."""
    used = {label: after[label] - before[label] for label in after if label != "postgres"}
    used["postgres"] = sum(
        cpu - before["postgres"].get(pid, 0.0) for pid, cpu in after["postgres"].items()
    )
    return used


def measure(
    name: str,
    targets: list[str],
    requests: int,
    meters: dict[str, int],
    folder: Path,
    database: str,
) -> dict:
    cpu_before = read_cpu(meters, database)
    sessions_before = sessions(database)
    ab_before = _children_cpu()
    busy_before, total_before = _busy_jiffies()
    began = time.perf_counter()
    result = run_ab(targets, requests, folder)
    seconds = time.perf_counter() - began
    busy_after, total_after = _busy_jiffies()
    machine_busy = (busy_after - busy_before) / max(1, total_after - total_before)
    ab_cpu = _children_cpu() - ab_before
    cpu = used_since(cpu_before, read_cpu(meters, database))
    opened = sessions(database) - sessions_before
    row = {
        "case": name,
        "rps": result["requests"] / seconds,
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "errors": result["errors"],
        "pg_connections_opened_per_1000_req": opened * 1000 / max(1, result["requests"]),
        "seconds": seconds,
        "machine_busy_share": machine_busy,
        "ab_share": ab_cpu / (seconds * CORES),
    }
    for label, used in cpu.items():
        row[f"{label}_share"] = used / (seconds * CORES)
    ours = row["ab_share"] + sum(row[f"{label}_share"] for label in cpu)
    row["others_share"] = max(0.0, machine_busy - ours)
    row["server_cpu_ms_per_req"] = (
        sum(v for k, v in cpu.items() if k.startswith("replica")) * 1000 / result["requests"]
    )
    print(
        f"  {json.dumps({k: v if isinstance(v, str) else round(v, 3) for k, v in row.items()})}",
        file=sys.stderr,
    )
    return row


def median_rows(rows: list[dict]) -> list[dict]:
    """Per case, the round with the median req/s (whole rows, so figures stay consistent)."""
    chosen = []
    for case in dict.fromkeys(r["case"] for r in rows):
        mine = sorted((r for r in rows if r["case"] == case), key=lambda r: r["rps"])
        pick = dict(mine[len(mine) // 2])
        pick["rps_all_rounds"] = [round(r["rps"]) for r in rows if r["case"] == case]
        chosen.append(pick)
    return chosen


def table(rows: list[dict]) -> str:
    base = rows[0]["rps"]
    lines = [
        "| case | req/s (median round) | all rounds | vs one replica | p50 ms | p99 ms "
        "| replica 1 CPU | replica 2 CPU | PostgreSQL CPU | HAProxy CPU | ab CPU | others | "
        "server CPU ms/req | new PG connections per 1000 req | non-2xx |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['rps']:,.0f} | {', '.join(map(str, r['rps_all_rounds']))} "
            f"| {r['rps'] / base:.2f}× | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} "
            f"| {r['replica1_share']:.0%} | {r['replica2_share']:.0%} | {r['postgres_share']:.0%} "
            f"| {r['haproxy_share']:.0%} | {r['ab_share']:.0%} | {r['others_share']:.0%} "
            f"| {r['server_cpu_ms_per_req']:.3f} "
            f"| {r['pg_connections_opened_per_1000_req']:.1f} | {r['errors']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000, help="per case and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 requests, one round")
    options = parser.parse_args()
    requests, rounds = (2000, 1) if options.quick else (options.requests, options.rounds)
    folder = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    seaweed = SeaweedS3(folder / "seaweed")
    replicas: list[servers.Server] = []
    balancer = None
    rows: list[dict] = []
    try:
        seaweed.start()
        with fresh_database() as database:
            settings = {
                "DATABASE_URL": database,
                "STORAGE": "s3",
                "S3_ENDPOINT": seaweed.endpoint,
                "S3_BUCKET": seaweed.bucket,
                "S3_ACCESS_KEY": seaweed.access_key,
                "S3_SECRET_KEY": seaweed.secret_key,
                "METRICS_LISTEN": "",  # its default port fits one process per host
            }
            try:
                for i in (1, 2):  # one after the other: the first migrates
                    replica = servers.dockyard(1, settings)
                    replica.name = f"replica{i}"
                    replicas.append(replica)
                    replica.start()
                balancer = Balancer(folder, replicas)
                # bench/get:latest, pushed through replica 1, then a short warm-up of
                # both replicas and HAProxy.
                asyncio.run(_push_manifest(replicas[0].url))
                run_ab([replicas[0].url, replicas[1].url, balancer.url("two")], 3000, folder)
                meters = {
                    "replica1": replicas[0].process.pid,
                    "replica2": replicas[1].process.pid,
                    "haproxy": balancer.process.pid,
                }
                r1, r2 = replicas[0].url, replicas[1].url
                cases = [
                    ("one replica, direct", [r1]),
                    ("two replicas, ab split 32 + 32", [r1, r2]),
                    ("one replica via HAProxy", [balancer.url("one")]),
                    ("two replicas via HAProxy round-robin", [balancer.url("two")]),
                ]
                for number in range(rounds):
                    print(f"round {number + 1}", file=sys.stderr)
                    for name, targets in cases:
                        rows.append(measure(name, targets, requests, meters, folder, database))
            finally:
                if balancer is not None:
                    balancer.stop()
                for replica in replicas:
                    log = replica.workdir / "server.log"
                    if log.exists():  # kept: the workdir goes with stop()
                        shutil.copy(log, Path(tempfile.gettempdir()) / f"bench-{replica.name}.log")
                    replica.stop()
    finally:
        seaweed.stop()
        shutil.rmtree(folder, ignore_errors=True)
    chosen = median_rows(rows)
    context = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cores": CORES,
        "requests_per_case": requests,
        "rounds": rounds,
        "concurrency": CONCURRENCY,
        "load_average": os.getloadavg(),
        "command": " ".join(["bench/replicas.py", *sys.argv[1:]]),
    }
    raw = Path(__file__).parent / "results"
    raw.mkdir(exist_ok=True)
    out = {"context": context, "rounds": rows, "median": chosen}
    (raw / "replicas.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(context))
    print(table(chosen))


if __name__ == "__main__":
    main()
