"""Numbers and durations sent to the REST API: bounded, with a clear 400/422; never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from dockyard.cli.main import app as cli
from tests.api.helpers import auth, push_image, repository_id
from tests.support.auth_registry import AuthRegistry


@pytest.mark.parametrize("older_than", ["99999999999999y", "101y", "9999999month", "²d", "١d"])
def test_bulk_delete_durations_are_bounded(registry: AuthRegistry, older_than: str) -> None:
    project = registry.new_project("private")
    push_image(registry, f"{project}/img", "v1", layers=[b"durations"])
    rid = repository_id(registry, project, f"{project}/img", registry.admin_pat)
    resp = registry.client.post(
        f"/api/v1/registry/repositories/{rid}/tags/bulk-delete",
        json={"name_regex_delete": ".*", "older_than": older_than, "dry_run": True},
        headers=auth(registry.admin_pat),
    )
    assert resp.status_code in (400, 422), resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid" and "older_than" in error["message"]


def test_bulk_delete_duration_in_range(registry: AuthRegistry) -> None:
    project = registry.new_project("private")
    push_image(registry, f"{project}/img", "v1", layers=[b"durations ok"])
    rid = repository_id(registry, project, f"{project}/img", registry.admin_pat)
    resp = registry.client.post(
        f"/api/v1/registry/repositories/{rid}/tags/bulk-delete",
        json={"name_regex_delete": ".*", "older_than": "100y", "dry_run": True},
        headers=auth(registry.admin_pat),
    )
    assert resp.status_code == 200 and resp.json()["tags"] == []


@pytest.mark.parametrize(
    "expires_at",
    [
        "9999-12-31T23:59:59Z",
        # whole days: the same ids in every collecting process (pytest-xdist)
        (datetime.now(UTC) + timedelta(days=3652)).date().isoformat() + "T00:00:00Z",
        (datetime.now(UTC) - timedelta(days=2)).date().isoformat() + "T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_token_expiry_is_bounded(registry: AuthRegistry, expires_at: str) -> None:
    user = registry.new_user()
    resp = registry.client.post(
        "/api/v1/user/tokens",
        json={"name": "t", "scopes": ["read_registry"], "expires_at": expires_at},
        headers=auth(user.pat),
    )
    assert resp.status_code in (400, 422), resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid" and "expires_at" in error["message"]


def test_token_expiry_in_range(registry: AuthRegistry) -> None:
    user = registry.new_user()
    soon = datetime.now(UTC) + timedelta(days=30)
    for expires_at in (soon.isoformat(), soon.replace(tzinfo=None).isoformat()):
        resp = registry.client.post(
            "/api/v1/user/tokens",
            json={"name": "t", "scopes": ["read_registry"], "expires_at": expires_at},
            headers=auth(user.pat),
        )
        assert resp.status_code == 201, resp.text
        returned = datetime.fromisoformat(resp.json()["expires_at"].replace("Z", "+00:00"))
        assert abs(returned.replace(tzinfo=UTC) - soon) < timedelta(seconds=2)


def test_deploy_token_expiry_is_bounded(registry: AuthRegistry) -> None:
    project = registry.new_project("private")
    resp = registry.client.post(
        f"/api/v1/projects/{project}/deploy_tokens",
        json={"name": "d", "scopes": ["read_registry"], "expires_at": "9999-01-01T00:00:00Z"},
        headers=auth(registry.admin_pat),
    )
    assert resp.status_code in (400, 422), resp.text
    assert "expires_at" in resp.json()["error"]["message"]


def test_cli_numbers_are_checked(registry: AuthRegistry) -> None:
    user = registry.new_user()
    env = {
        "DOCKYARD_DATA_DIR": str(registry.settings.data_dir),
        "DOCKYARD_DATABASE_URL": registry.settings.database_url,
    }
    runner = CliRunner()
    create = ["token", "create", "personal", "--user", user.name]
    far = runner.invoke(cli, [*create, "--expires-in-days", "99999999"], env=env)
    assert far.exit_code == 1, far.output
    assert "--expires-in-days must be a whole number from 0 to 3650" in far.output
    huge = runner.invoke(cli, ["token", "revoke", "99999999999999"], env=env)
    assert huge.exit_code == 1 and "token_id must be a whole number" in huge.output
    project = registry.new_project("private")
    registry.new_user({project: "developer"})
    owner = registry.new_user({project: "owner"})
    job = ["token", "create", "job", "--project", project, "--user", owner.name]
    long_job = runner.invoke(cli, [*job, "--ttl", "99999999999"], env=env)
    assert long_job.exit_code == 1 and "ttl_seconds must be a whole number" in long_job.output
    ok = runner.invoke(cli, [*create, "--expires-in-days", "30"], env=env)
    assert ok.exit_code == 0, ok.output


def test_nul_in_text_is_never_a_server_error(registry: AuthRegistry) -> None:
    """PostgreSQL cannot hold NUL; a filter or name carrying one is a 4xx there (SQLite
    simply finds nothing)."""
    project = registry.new_project("private")
    headers = auth(registry.admin_pat)
    listing = registry.client.get(
        f"/api/v1/projects/{project}/registry/repositories?name=a%00b", headers=headers
    )
    assert listing.status_code in (200, 400), listing.text
    if listing.status_code == 400:
        assert "NUL" in listing.json()["error"]["message"]
    member = registry.client.post(
        f"/api/v1/projects/{project}/members",
        json={"username": "a\u0000b", "role": "guest"},
        headers=headers,
    )
    assert member.status_code in (400, 404), member.text
    catalog = registry.client.get("/v2/_catalog?last=a%00b", headers=headers)
    assert catalog.status_code < 500, catalog.text
