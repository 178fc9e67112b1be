"""SIGTERM stops the server promptly, even with clients still connected."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from tests.integration.conftest import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_sigterm_with_open_connections(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = LiveServer("dockyard", tmp_path_factory.mktemp("shutdown"), "")
    server.start()
    try:
        idle = httpx.Client(base_url=server.url)
        assert idle.get("/v2/").status_code == 200  # a keep-alive connection stays open
        started = httpx.post(f"{server.url}/v2/sd/app/blobs/uploads/")
        assert started.status_code == 202
        assert server._proc is not None
        began = time.monotonic()
        os.kill(server._proc.pid, signal.SIGTERM)
        server._proc.wait(timeout=30)
        assert time.monotonic() - began < 20
        idle.close()
    finally:
        server.stop()
    assert "Traceback" not in server.log()
