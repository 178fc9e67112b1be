"""PostgreSQL out of reach (full, restarting): every surface answers 503 with
Retry-After and says so, readiness turns red, and all is well again without a restart
once the server takes connections."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from starlette.testclient import TestClient

from dockyard.admin import accounts, tokens
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.http.app import create_app
from tests.conftest import PG_ADMIN_URL

PASSWORD = "admin-password-database-down"  # noqa: S105


def admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def limited_role(tmp_path) -> Iterator[tuple[str, str]]:
    """A login role (not a superuser, so connection limits bind it) owning a fresh
    database: (role, database URL)."""
    role = f"dockyard_limited_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin(f'CREATE ROLE "{role}" LOGIN')
    admin(f'CREATE DATABASE "{role}" OWNER "{role}"')
    base = PG_ADMIN_URL.split("://", 1)[1].split("@", 1)[1].rsplit("/", 1)[0]
    yield role, f"postgresql://{role}@{base}/{role}"
    admin(f'DROP DATABASE IF EXISTS "{role}" WITH (FORCE)')
    admin(f'DROP ROLE IF EXISTS "{role}"')


def refuse_connections(role: str) -> None:
    """What a full server does to a new connection ("too many connections", 53300)."""
    admin(f'ALTER ROLE "{role}" CONNECTION LIMIT 0')
    admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")


def test_a_full_database_is_a_503_everywhere_until_it_takes_connections(
    limited_role, tmp_path
) -> None:
    role, url = limited_role
    settings = Settings(
        data_dir=tmp_path, database_url=url, admin_password=PASSWORD, database_pool_size=2
    )
    basic = {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}
    params = {"service": settings.token_service, "scope": "repository:db/app:pull"}
    with TestClient(create_app(settings)) as client:
        setup = Database(url)
        accounts.ensure_initial_admin(setup, settings)
        personal = tokens.create_personal(setup, "admin", "ops", ["api"]).secret
        setup.dispose()
        token = client.get("/jwt/auth", params=params, headers=basic).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get("/v2/db/app/tags/list", headers=bearer).status_code == 403
        refuse_connections(role)  # (403 before: the project does not exist; served)

        registry = client.get("/v2/db/app/tags/list", headers=bearer)
        assert registry.status_code == 503
        assert registry.headers["Retry-After"] == "5"
        error = registry.json()["errors"][0]
        assert error["code"] == "TOOMANYREQUESTS"
        assert "database is unavailable" in error["message"]

        login = client.get("/jwt/auth", params=params, headers=basic)
        assert login.status_code == 503
        assert login.headers["Retry-After"] == "5"

        api = client.get("/api/v1/projects", headers={"PRIVATE-TOKEN": personal})
        assert api.status_code == 503, api.text
        assert api.json()["error"]["code"] == "unavailable"
        assert api.headers["Retry-After"] == "5"

        ready = client.get("/-/ready")
        assert ready.status_code == 503
        assert "database" in ready.text

        admin(f'ALTER ROLE "{role}" CONNECTION LIMIT -1')
        assert client.get("/v2/db/app/tags/list", headers=bearer).status_code == 403
        assert client.get("/jwt/auth", params=params, headers=basic).status_code == 200
        assert client.get("/-/ready").status_code == 200
