"""Shared fixtures: an in-process registry on SQLite and on real PostgreSQL.

Each test session gets its own PostgreSQL database (dropped at the end), and each
test gets a fresh repository name, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page
from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.http.app import create_app
from tests.support.browser import chromium, new_page
from tests.support.seaweed import SeaweedS3

PG_ADMIN_URL = os.environ.get("DOCKYARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL databases, all dropped at session end."""
    created: list[str] = []

    def new_database() -> str:
        name = f"dockyard_test_{os.getpid()}_{len(created)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    yield new_database
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated_database(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: Callable[[], str]
) -> Iterator[Callable[[str], Database]]:
    """A factory of fresh, migrated databases of a backend ("sqlite" or "postgres")."""
    opened: list[Database] = []

    def build(backend: str) -> Database:
        if backend == "postgres":
            url = postgres_url()
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'dockyard.db'}"
        database = Database(url)
        database.migrate()
        opened.append(database)
        return database

    yield build
    for database in opened:
        database.dispose()


@pytest.fixture(scope="session")
def make_app(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: Callable[[], str]
) -> Callable[..., Any]:
    def build(backend: str, **overrides: Any) -> Any:
        data_dir: Path = tmp_path_factory.mktemp(f"data-{backend}")
        url = postgres_url() if backend == "postgres" else ""
        settings = Settings(data_dir=data_dir, database_url=url, **{"auth": "none", **overrides})
        return create_app(settings)

    return build


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def client(backend: str, make_app: Callable[..., Any]) -> Iterator[TestClient]:
    """One registry per backend for the whole session; tests isolate by repository name."""
    with TestClient(make_app(backend)) as test_client:
        yield test_client


@pytest.fixture
def make_client(backend: str, make_app: Callable[..., Any]) -> Iterator[Callable[..., TestClient]]:
    """Clients for fresh, empty registries with setting overrides (closed after the test)."""
    opened: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        test_client = TestClient(make_app(backend, **overrides))
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield build
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture
def repo() -> str:
    return f"t/{uuid.uuid4().hex[:8]}"


# Registries with token auth on, shared by tests/auth, tests/api and tests/ui.
from tests.support.auth_registry import make_auth_registry, registry  # noqa: E402,F401
from tests.support.replicas import make_replicas  # noqa: E402,F401


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """A real S3 server (SeaweedFS) with one bucket, for the whole session.

    Tests may ``stop()`` and ``start()`` it (same folder, ports and data) but must leave
    it running.
    """
    server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test file.

    Not one per run: while Playwright's sync API is open, its event loop counts as
    running in the main thread, so a later file's ``asyncio.run`` would fail.
    """
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page (own cookies) at desktop width."""
    with new_page(browser) as opened:
        yield opened
