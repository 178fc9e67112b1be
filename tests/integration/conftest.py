"""Integration fixtures: one live registry process per session, driven by real clients.

``DOCKYARD_TEST_SERVER`` chooses the server under test: ``dockyard`` (default) runs
``python -m dockyard serve``; ``distribution`` runs CNCF Distribution, the reference
registry, so the tests themselves can be validated against known-good behaviour.
``DOCKYARD_TEST_DB=postgres`` runs Dockyard on a fresh PostgreSQL database instead of
SQLite (the database comes from the ``postgres_url`` fixture of tests/conftest.py), and
``DOCKYARD_TEST_WORKERS=N`` runs it with N worker processes.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.clients import (
    ClientSandbox,
    ImageBuilder,
    LayoutImage,
    new_http,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTION_BIN = "/usr/bin/docker-registry"
READY_TIMEOUT = 20.0
SERVER_KINDS = ("dockyard", "distribution")
ADMIN_PASSWORD = "integration-admin-password"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: needs a live server and real clients (skopeo, podman, buildah)"
    )


def free_port() -> int:
    """A port nobody listens on right now (the kernel picks it; the race is negligible)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class LiveServer:
    """A registry running as a child process on 127.0.0.1, in its own process group.

    The process group matters: Dockyard's HTTP server forks workers, and a SIGKILL
    to the supervisor alone would leave them holding the port.
    """

    def __init__(
        self,
        kind: str,
        root: Path,
        database_url: str,
        auth: str = "none",
        workers: int | None = None,
        extra_env: dict[str, str] | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.kind = kind
        self.auth = auth
        self.workers = workers  # None: DOCKYARD_TEST_WORKERS, else the server's default
        self.extra_env = extra_env or {}
        self.verify = verify  # the CA file when the server speaks TLS
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        scheme = "https" if self.extra_env.get("DOCKYARD_TLS_CERT") else "http"
        self.url = f"{scheme}://{self.host}"
        self.data_dir = root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = root / "server.log"
        self.database_url = database_url or f"sqlite:///{self.data_dir / 'dockyard.db'}"
        self._root = root
        self._secret = secrets.token_hex(16)
        self._proc: subprocess.Popen[bytes] | None = None
        self.checked_upto = 0  # log offset already searched for tracebacks

    def env(self) -> dict[str, str]:
        """The environment the server (and the dockyard CLI pointed at it) runs with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
        env.update(
            PYTHONUNBUFFERED="1",
            DOCKYARD_LISTEN=self.host,
            DOCKYARD_DATA_DIR=str(self.data_dir),
            DOCKYARD_DATABASE_URL=self.database_url,
            DOCKYARD_AUTH=self.auth,
            DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD,
            DOCKYARD_METRICS_LISTEN="",  # off unless a test asks: parallel runs share ports
        )
        env.update(self.extra_env)
        return env

    def cli(self, *args: str) -> str:
        """Run ``dockyard ARGS`` against this server's data, as an operator would."""
        done = subprocess.run(
            [sys.executable, "-m", "dockyard", *args],
            cwd=REPO_ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"dockyard {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def _command(self) -> tuple[list[str], dict[str, str]]:
        env = self.env()
        if self.kind == "distribution":
            return [DISTRIBUTION_BIN, "serve", str(self._distribution_config())], env
        if self.workers is not None:
            env["DOCKYARD_WORKERS"] = str(self.workers)
        elif os.environ.get("DOCKYARD_TEST_WORKERS"):  # e.g. 2, to race across processes
            env["DOCKYARD_WORKERS"] = os.environ["DOCKYARD_TEST_WORKERS"]
        return [sys.executable, "-m", "dockyard", "serve"], env

    def _distribution_config(self) -> Path:
        """Distribution with deletes on and a fixed upload-state secret.

        Without a fixed ``http.secret`` Distribution signs upload state with a random key
        per start, and no upload could survive the restart test.
        """
        path = self._root / "distribution.yml"
        path.write_text(
            "version: 0.1\n"
            "log:\n  level: info\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {self.data_dir}\n"
            "  delete:\n    enabled: true\n"
            "  maintenance:\n    uploadpurging:\n      enabled: false\n"
            f"http:\n  addr: {self.host}\n  secret: {self._secret}\n"
        )
        return path

    def start(self) -> None:
        cmd, env = self._command()
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {' '.join(cmd)} ===\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"{self.kind} exited with {self._proc.returncode} before it was ready\n"
                    + self.log_tail()
                )
            try:
                resp = httpx.get(
                    self.url + "/v2/", timeout=1.0, trust_env=False, verify=self.verify
                )
                if resp.status_code == 200 or (resp.status_code == 401 and self.auth != "none"):
                    return
                last = f"GET /v2/ -> {resp.status_code} {resp.text[:200]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.kind} not ready after {READY_TIMEOUT:.0f} s ({last})\n" + self.log_tail()
        )

    def _signal(self, sig: signal.Signals, grace: float) -> bool:
        """Send ``sig`` to the whole group; True once the supervisor has exited."""
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)
        try:
            self._proc.wait(timeout=grace)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _wait_port_closed(self) -> None:
        deadline = time.monotonic() + 10
        while port_is_open(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {self.port} still accepts connections after the kill")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, like a crash or an OOM kill: no chance to clean up."""
        if self._proc is not None and self._proc.poll() is None:
            self._signal(signal.SIGKILL, 10)
        # Workers may outlive the supervisor by a moment; the port tells when all are gone.
        self._wait_port_closed()

    def restart(self) -> None:
        """Crash the server and start it again on the same port and data."""
        self.kill()
        self.start()

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        if not self._signal(signal.SIGTERM, 10):
            self._signal(signal.SIGKILL, 10)
        # Reap any straggler in the group: SIGTERM may have reached only the supervisor's exit.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 6000) -> str:
        return f"--- {self.log_path} (tail) ---\n{self.log()[-chars:]}"


def server_kind() -> str:
    kind = os.environ.get("DOCKYARD_TEST_SERVER", "dockyard").strip().lower() or "dockyard"
    if kind not in SERVER_KINDS:
        raise pytest.UsageError(f"DOCKYARD_TEST_SERVER={kind!r}: expected one of {SERVER_KINDS}")
    return kind


def _database_url(request: pytest.FixtureRequest) -> str:
    backend = os.environ.get("DOCKYARD_TEST_DB", "sqlite").strip().lower()
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_url")())
    if backend not in ("", "sqlite"):
        raise pytest.UsageError(f"DOCKYARD_TEST_DB={backend!r}: expected sqlite or postgres")
    return ""


_SERVER: list[LiveServer] = []  # the running server, for failure reports


@pytest.fixture(scope="session")
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The registry under test, shared by the session; its log must stay free of tracebacks."""
    server = LiveServer(server_kind(), tmp_path_factory.mktemp("server"), _database_url(request))
    server.start()
    _SERVER.append(server)
    try:
        yield server
    finally:
        _SERVER.remove(server)
        server.stop()
    # Catches what no single test was blamed for: late log lines and shutdown.
    fail_on_traceback(server.log()[server.checked_upto :], "after the last test or at shutdown")


@pytest.fixture(scope="session")
def auth_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Dockyard with its default, token auth (the private registry people run)."""
    server = LiveServer(
        "dockyard", tmp_path_factory.mktemp("auth-server"), _database_url(request), auth="token"
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
    fail_on_traceback(server.log(), "in the token-auth server")


@pytest.fixture(scope="session")
def auth_sandbox(
    auth_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> ClientSandbox:
    return ClientSandbox(auth_server.host, tmp_path_factory.mktemp("auth-clients"))


def fail_on_traceback(log: str, when: str) -> None:
    """Fail with the first traceback in ``log`` (short: the full log is in the report section)."""
    at = log.find("Traceback")
    if at >= 0:
        pytest.fail(f"server logged a Python traceback {when}:\n{log[at : at + 5000]}", False)


@pytest.fixture(autouse=True)
def no_server_traceback(live_server: LiveServer) -> Iterator[None]:
    """Fail the test during which the server logged a Python traceback (attributes crashes)."""
    start = len(live_server.log())
    yield
    time.sleep(0.05)  # let a log line triggered by the last response land
    log = live_server.log()
    live_server.checked_upto = len(log)
    fail_on_traceback(log[start:], "during this test")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the server log's tail to failing tests: most failures are explained there."""
    report = yield
    if report.failed and _SERVER:
        report.sections.append(("server log (tail)", _SERVER[0].log()[-4000:]))
    return report


@pytest.fixture(scope="session")
def sandbox(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> ClientSandbox:
    """skopeo/podman/buildah configured for this registry and nothing else."""
    return ClientSandbox(live_server.host, tmp_path_factory.mktemp("clients"))


@pytest.fixture(scope="session")
def images(sandbox: ClientSandbox, tmp_path_factory: pytest.TempPathFactory) -> ImageBuilder:
    return ImageBuilder(sandbox, tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="session")
def tiny_image(images: ImageBuilder) -> LayoutImage:
    """A one-layer image for this platform as an OCI layout (built once per session)."""
    return images.single("tiny")


@pytest.fixture(scope="session")
def multi_image(images: ImageBuilder) -> LayoutImage:
    """An amd64+arm64 OCI index as an OCI layout (built once per session)."""
    return images.multi("multi")


@pytest.fixture
def repo(request: pytest.FixtureRequest) -> str:
    """A fresh repository name per test, readable in the server log."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_")).strip("-")
    return f"it/{name[:40].strip('-')}-{secrets.token_hex(3)}"


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with new_http(live_server.url) as client:
        yield client
