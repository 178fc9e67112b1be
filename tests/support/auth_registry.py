"""A registry with token auth on (per backend), and helpers to get tokens the way
clients do: HTTP Basic against /jwt/auth, then Bearer on /v2."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from dockyard.admin import accounts, members
from dockyard.admin import tokens as admin_tokens
from dockyard.config import Settings, load_settings
from dockyard.db.engine import Database
from dockyard.http.app import create_app

ADMIN_PASSWORD = "admin-password-for-tests"  # noqa: S105


@dataclass
class AuthRegistry:
    client: TestClient
    db: Database
    settings: Settings
    admin_pat: str

    def basic(self, username: str, secret: str) -> dict[str, str]:
        raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    def token_response(
        self, username: str | None, secret: str | None, *scopes: str, **params: str
    ) -> httpx.Response:
        query: list[tuple[str, str]] = [("service", self.settings.token_service)]
        query += [("scope", s) for s in scopes]
        query += list(params.items())
        headers = self.basic(username, secret) if username is not None else {}
        return self.client.get("/jwt/auth", params=query, headers=headers)

    def token(self, username: str | None, secret: str | None, *scopes: str) -> str:
        resp = self.token_response(username, secret, *scopes)
        assert resp.status_code == 200, resp.text
        return resp.json()["token"]

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def new_user(self, role_in: dict[str, str] | None = None, admin: bool = False) -> User:
        name = f"u{uuid.uuid4().hex[:10]}"
        accounts.create_user(self.db, name, f"{name}@example.com", "secret-password-" + name, admin)
        for path, role in (role_in or {}).items():
            members.add_member(self.db, name, path, role)
        pat = admin_tokens.create_personal(self.db, name, "tests", ["api"]).secret
        return User(name, "secret-password-" + name, pat)

    def new_project(self, visibility: str = "private", group: str | None = None) -> str:
        group = group or f"g{uuid.uuid4().hex[:8]}"
        if group not in accounts.list_groups(self.db):
            accounts.create_group(self.db, group)
        path = f"{group}/p{uuid.uuid4().hex[:6]}"
        accounts.create_project(self.db, path, visibility)
        return path


@dataclass(frozen=True)
class User:
    name: str
    password: str
    pat: str


@pytest.fixture(scope="session")
def make_auth_registry(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: Callable[[], str]
) -> Iterator[Callable[..., AuthRegistry]]:
    opened: list[tuple[TestClient, Database]] = []

    def build(
        backend: str, environ: dict[str, str] | None = None, **overrides: Any
    ) -> AuthRegistry:
        """With ``environ``, settings load as a server loads them (DOCKYARD_* from it, the
        rest as overrides), so where each value came from is known."""
        data_dir: Path = tmp_path_factory.mktemp(f"auth-{backend}")
        url = postgres_url() if backend == "postgres" else ""
        make = Settings if environ is None else partial(load_settings, environ=environ)
        settings = make(
            data_dir=data_dir,
            database_url=url,
            auth="token",
            admin_password=ADMIN_PASSWORD,
            **overrides,
        )
        client = TestClient(create_app(settings))
        client.__enter__()
        db = Database(settings.effective_database_url)
        accounts.ensure_initial_admin(db, settings)
        admin_pat = admin_tokens.create_personal(db, "admin", "tests", ["api"]).secret
        opened.append((client, db))
        return AuthRegistry(client, db, settings, admin_pat)

    yield build
    for client, db in opened:
        client.__exit__(None, None, None)
        db.dispose()


@pytest.fixture(scope="session")
def registry(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend)
