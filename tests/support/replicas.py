"""Several app instances over one database, each with its own data dir: replicas as a
load balancer sees them, in one test process."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.admin import accounts
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.http.app import create_app

ADMIN_PASSWORD = "admin-password-for-replicas"  # noqa: S105


@dataclass
class Replica:
    client: TestClient
    settings: Settings

    def token(self, username: str, password: str, scope: str = "") -> str:
        raw = base64.b64encode(f"{username}:{password}".encode()).decode()
        params = {"service": self.settings.token_service, **({"scope": scope} if scope else {})}
        resp = self.client.get(
            "/jwt/auth", params=params, headers={"Authorization": f"Basic {raw}"}
        )
        assert resp.status_code == 200, resp.text
        return resp.json()["token"]

    def v2(self, token: str) -> int:
        """The status of GET /v2/ with this bearer token."""
        return self.client.get("/v2/", headers={"Authorization": f"Bearer {token}"}).status_code


@dataclass
class Replicas:
    db: Database
    url: str
    members: list[Replica]

    def start(self, data_dir: Path, background: Any = None, **overrides: Any) -> Replica:
        """Another replica; ``background(settings)`` gives the loops it runs (none)."""
        settings = Settings(
            data_dir=data_dir,
            database_url=self.url,
            admin_password=ADMIN_PASSWORD,
            **{"auth": "token", **overrides},
        )
        loops = (lambda db, registry: background(settings, db, registry)) if background else None
        client = TestClient(create_app(settings, background=loops))
        client.__enter__()
        replica = Replica(client, settings)
        self.members.append(replica)
        return replica


@pytest.fixture
def make_replicas(
    tmp_path: Path, postgres_url: Callable[[], str]
) -> Iterator[Callable[..., Replicas]]:
    """``make_replicas(backend, count, **settings)``: a group of that many replicas over
    one fresh database (SQLite file or PostgreSQL database), the admin user created."""
    groups: list[Replicas] = []

    def build(backend: str, count: int = 2, **overrides: Any) -> Replicas:
        url = postgres_url() if backend == "postgres" else f"sqlite:///{tmp_path / 'shared.db'}"
        group = Replicas(Database(url), url, [])
        groups.append(group)
        for n in range(count):
            group.start(tmp_path / f"replica-{len(groups)}-{n}", **overrides)
        if group.members:
            accounts.ensure_initial_admin(group.db, group.members[0].settings)
        return group

    yield build
    for group in groups:
        for replica in group.members:
            replica.client.__exit__(None, None, None)
        group.db.dispose()
