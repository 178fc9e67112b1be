"""Start Distribution and Dockyard on free loopback ports; watch their memory and CPU."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.credentials import ADMIN_PASSWORD, Credentials

REPO = Path(__file__).resolve().parents[1]
DISTRIBUTION = "/usr/bin/docker-registry"
PAGE = os.sysconf("SC_PAGE_SIZE")
PG_ADMIN_URL = os.environ.get("DOCKYARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_rss(pid: int) -> int:
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, IndexError):
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * PAGE
    return total


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of the tree (living members)."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    workdir: Path
    process: subprocess.Popen | None = None
    peak_rss: int = 0
    credentials: Credentials | None = None  # Dockyard with token auth on
    database: str = ""  # a PostgreSQL database made for this server, dropped at its stop
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_process(self) -> None:
        """Start the server and return at once (``start`` also waits for it to answer)."""
        log = (self.workdir / "server.log").open("ab")
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop_process(self) -> None:
        """Stop the server, keeping its data for another start."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def start(self) -> None:
        self.start_process()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/v2/", timeout=1).status_code in (200, 401):
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{self.name} did not start; see {self.workdir}/server.log")
        threading.Thread(target=self._sample, daemon=True).start()

    def headers(self, *repositories: str, catalog: bool = False) -> dict[str, str]:
        """What a request touching ``repositories`` (and the catalog) must carry."""
        if self.credentials is None:
            return {}
        return self.credentials.headers(repositories, catalog)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_rss = max(self.peak_rss, tree_rss(self.process.pid))

    def rss(self) -> int:
        return tree_rss(self.process.pid)

    def cpu(self) -> float:
        return tree_cpu(self.process.pid)

    def stop(self) -> None:
        self._stop.set()
        self.stop_process()
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self.database:
            drop_database(self.database)


def distribution() -> Server:
    workdir = Path(tempfile.mkdtemp(prefix="bench-distribution-"))
    port = free_port()
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir}/data\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    return Server(
        "Distribution", [DISTRIBUTION, "serve", str(config)], dict(os.environ), port, workdir
    )


def create_database() -> str:
    """A fresh, empty database on the local PostgreSQL server; its name."""
    import psycopg

    name = f"dockyard_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(name: str) -> str:
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def dockyard(
    workers: int = 1,
    settings: dict[str, str] | None = None,
    auth: bool = False,
    postgres: bool = False,
) -> Server:
    """``settings`` adds DOCKYARD_* variables (``{"SCAN_ON_PUSH": "false"}``); ``auth``
    turns token auth on, and the workloads then send bearer tokens (bench/credentials.py);
    ``postgres`` keeps the metadata in a fresh database on the local PostgreSQL."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-dockyard-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env.update(
        DOCKYARD_LISTEN=f"127.0.0.1:{port}",
        DOCKYARD_DATA_DIR=str(workdir / "data"),
        DOCKYARD_AUTH="none",
        DOCKYARD_WORKERS=str(workers),
        DOCKYARD_LOG_LEVEL="warning",
    )
    if auth:
        env.update(DOCKYARD_AUTH="token", DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
    env.update({f"DOCKYARD_{key}": value for key, value in (settings or {}).items()})
    command = [sys.executable, "-m", "dockyard", "serve"]
    if postgres:
        database = create_database()
        env["DOCKYARD_DATABASE_URL"] = database_url(database)
        return Server("Dockyard (PostgreSQL)", command, env, port, workdir, database=database)
    if not auth:
        return Server("Dockyard", command, env, port, workdir)
    url = f"http://127.0.0.1:{port}"
    return Server("Dockyard (auth)", command, env, port, workdir, credentials=Credentials(url, env))


def distribution_version() -> str:
    try:
        out = subprocess.run(
            [DISTRIBUTION, "--version"], capture_output=True, text=True, timeout=10
        )
        return (out.stdout or out.stderr).strip()
    except OSError:
        return "unknown"
