"""A registry in-process plus the `dockyard` CLI pointed at the same data and database."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from dockyard.cli.main import app as cli_app
from dockyard.config import Settings
from dockyard.http.app import create_app


@dataclass
class Instance:
    """One registry's settings, its HTTP client and a way to run the CLI against it."""

    settings: Settings
    opened: list[TestClient]
    client: TestClient | None = None

    def start(self) -> TestClient:
        """Serve (and migrate) this instance in-process; closed when the test ends."""
        self.client = TestClient(create_app(self.settings))
        self.client.__enter__()
        self.opened.append(self.client)
        return self.client

    @property
    def env(self) -> dict[str, str]:
        return {
            "DOCKYARD_DATA_DIR": str(self.settings.data_dir),
            "DOCKYARD_DATABASE_URL": self.settings.database_url,
            "DOCKYARD_AUTH": "none",
            "DOCKYARD_CONFIG": "",
            # nobody listens here, so restore does not take it for a running server
            "DOCKYARD_LISTEN": "127.0.0.1:9",
        }

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(cli_app, list(args), env=self.env)

    def cli_json(self, *args: str) -> tuple[int, Any]:
        result = self.cli(*args, "--output", "json")
        return result.exit_code, json.loads(result.stdout)

    def blob_file(self, digest: str) -> Path:
        algorithm, hex_ = digest.split(":")
        return self.settings.data_dir / "blobs" / algorithm / hex_[:2] / hex_


@pytest.fixture
def make_instance(
    backend: str, tmp_path_factory: pytest.TempPathFactory, postgres_url: Callable[[], str]
) -> Iterator[Callable[..., Instance]]:
    """Fresh registries on the parametrised backend, closed after the test."""
    opened: list[TestClient] = []

    def build(serve: bool = True) -> Instance:
        """A registry on fresh storage and database; ``serve=False`` leaves both untouched."""
        url = postgres_url() if backend == "postgres" else ""
        settings = Settings(data_dir=tmp_path_factory.mktemp("data"), database_url=url, auth="none")
        instance = Instance(settings, opened)
        if serve:
            instance.start()
        return instance

    yield build
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def instance(make_instance: Callable[..., Instance]) -> Instance:
    return make_instance()
