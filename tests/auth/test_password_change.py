"""Passwords change through REST and the admin's reset; the old one dies everywhere at once,
including in the /v2 Basic-auth cache that would otherwise keep it for a few seconds."""

from __future__ import annotations

import pytest

from dockyard.admin import tokens as admin_tokens
from tests.support.auth_registry import AuthRegistry

NEW = "a-brand-new-long-password"


def pat(secret: str) -> dict[str, str]:
    return {"PRIVATE-TOKEN": secret}


def revoke(registry: AuthRegistry, owner_pat: str, token_id: int) -> None:
    """Through the REST API: the registry's own process makes the change, so it must count
    on its very next request (another process's change counts within the epoch bound,
    tests/auth/test_token_cache.py)."""
    resp = registry.client.delete(f"/api/v1/user/tokens/{token_id}", headers=pat(owner_pat))
    assert resp.status_code == 204, resp.text


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


def test_a_user_changes_their_own_password(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user({project: "developer"})
    tags = f"/v2/{project}/img/tags/list"
    # Warm this process's Basic-auth cache with the old password.
    warm = registry.client.get(tags, headers=registry.basic(user.name, user.password))
    assert warm.status_code == 404

    wrong = registry.client.put(
        "/api/v1/user/password",
        json={"current_password": "not-my-password", "new_password": NEW},
        headers=pat(user.pat),
    )
    assert wrong.status_code == 400
    assert "current password is wrong" in wrong.json()["error"]["message"]
    changed = registry.client.put(
        "/api/v1/user/password",
        json={"current_password": user.password, "new_password": NEW},
        headers=pat(user.pat),
    )
    assert changed.status_code == 204, changed.text

    old = registry.client.get(tags, headers=registry.basic(user.name, user.password))
    assert old.status_code == 401  # at once, though the cache held it
    assert registry.token_response(user.name, user.password).status_code == 401
    assert registry.token_response(user.name, NEW).status_code == 200
    assert registry.client.get(tags, headers=registry.basic(user.name, NEW)).status_code == 404


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "too short: use at least 12 characters"),
        ("{name}-123", "leans on the username"),
    ],
)
def test_the_policy_says_what_to_do(registry: AuthRegistry, password: str, message: str) -> None:
    user = registry.new_user()
    resp = registry.client.put(
        "/api/v1/user/password",
        json={"current_password": user.password, "new_password": password.format(name=user.name)},
        headers=pat(user.pat),
    )
    assert resp.status_code == 400
    assert message in resp.json()["error"]["message"]
    assert registry.token_response(user.name, user.password).status_code == 200


def test_only_admins_reset_passwords(registry: AuthRegistry) -> None:
    user, other = registry.new_user(), registry.new_user()
    refused = registry.client.put(
        f"/api/v1/users/{other.name}/password", json={"new_password": NEW}, headers=pat(user.pat)
    )
    assert refused.status_code == 403
    assert registry.token_response(other.name, other.password).status_code == 200
    reset = registry.client.put(
        f"/api/v1/users/{other.name}/password",
        json={"new_password": NEW},
        headers=pat(registry.admin_pat),
    )
    assert reset.status_code == 204, reset.text
    assert registry.token_response(other.name, other.password).status_code == 401
    assert registry.token_response(other.name, NEW).status_code == 200
    missing = registry.client.put(
        "/api/v1/users/nobody-here/password",
        json={"new_password": NEW},
        headers=pat(registry.admin_pat),
    )
    assert missing.status_code == 404


def test_a_revoked_token_stops_working_on_basic_auth_at_once(
    registry: AuthRegistry, project: str
) -> None:
    user = registry.new_user({project: "developer"})
    issued = admin_tokens.create_personal(registry.db, user.name, "ci", ["read_registry"])
    tags = f"/v2/{project}/img/tags/list"
    basic = registry.basic(user.name, issued.secret)
    assert registry.client.get(tags, headers=basic).status_code == 404
    revoke(registry, user.pat, issued.record.id)
    assert registry.client.get(tags, headers=basic).status_code == 401


def test_a_registry_only_token_cannot_use_the_rest_api(registry: AuthRegistry) -> None:
    user = registry.new_user()
    for scope in ("read_registry", "write_registry"):
        issued = admin_tokens.create_personal(registry.db, user.name, scope, [scope])
        resp = registry.client.get("/api/v1/user", headers=pat(issued.secret))
        assert resp.status_code == 403
        changed = registry.client.put(
            "/api/v1/user/password",
            json={"current_password": user.password, "new_password": NEW},
            headers=pat(issued.secret),
        )
        assert changed.status_code == 403


def test_bearer_tokens_end_at_once_with_their_credential(
    registry: AuthRegistry, project: str
) -> None:
    """A bearer token names the credential it came from; the re-check cache behind it
    must not keep a revoked token or a blocked user alive for its few seconds."""
    user = registry.new_user({project: "developer"})
    issued = admin_tokens.create_personal(registry.db, user.name, "ci", ["read_registry"])
    scope = f"repository:{project}/img:pull"
    tags = f"/v2/{project}/img/tags/list"
    from_pat = registry.bearer(registry.token(user.name, issued.secret, scope))
    from_password = registry.bearer(registry.token(user.name, user.password, scope))
    assert registry.client.get(tags, headers=from_pat).status_code == 404  # warm the cache
    assert registry.client.get(tags, headers=from_password).status_code == 404
    revoke(registry, user.pat, issued.record.id)
    assert registry.client.get(tags, headers=from_pat).status_code == 401
    assert registry.client.get(tags, headers=from_password).status_code == 404
    blocked = registry.client.patch(
        f"/api/v1/users/{user.name}",
        json={"is_blocked": True},
        headers=pat(registry.admin_pat),
    )
    assert blocked.status_code == 200, blocked.text
    assert registry.client.get(tags, headers=from_password).status_code == 401


def test_a_demoted_admin_loses_admin_rights_at_once_on_basic_auth(registry: AuthRegistry) -> None:
    user = registry.new_user(admin=True)
    project = registry.new_project("private")
    tags = f"/v2/{project}/img/tags/list"
    basic = registry.basic(user.name, user.password)
    assert registry.client.get(tags, headers=basic).status_code == 404  # admin: may look
    demoted = registry.client.patch(
        f"/api/v1/users/{user.name}", json={"is_admin": False}, headers=pat(registry.admin_pat)
    )
    assert demoted.status_code == 200, demoted.text
    assert registry.client.get(tags, headers=basic).status_code in (401, 403)


def test_tokens_issued_for_the_old_password_end_with_it(
    registry: AuthRegistry, project: str
) -> None:
    """A refresh token lives for weeks: one from the old password must not outlive it, nor
    the bearer tokens issued for it; those from tokens and the new password keep working."""
    user = registry.new_user({project: "developer"})
    scope = f"repository:{project}/img:pull"
    tags = f"/v2/{project}/img/tags/list"
    offline = registry.client.post(
        "/jwt/auth",
        data={
            "grant_type": "password",
            "username": user.name,
            "password": user.password,
            "service": registry.settings.token_service,
            "scope": scope,
            "access_type": "offline",
            "client_id": "test",
        },
    )
    assert offline.status_code == 200, offline.text
    refresh = offline.json()["refresh_token"]
    old_bearer = registry.bearer(offline.json()["access_token"])
    from_pat = registry.bearer(registry.token(user.name, user.pat, scope))
    assert registry.client.get(tags, headers=old_bearer).status_code == 404

    changed = registry.client.put(
        "/api/v1/user/password",
        json={"current_password": user.password, "new_password": NEW},
        headers=pat(user.pat),
    )
    assert changed.status_code == 204, changed.text
    refreshed = registry.client.post(
        "/jwt/auth",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "service": registry.settings.token_service,
            "scope": scope,
            "client_id": "test",
        },
    )
    assert refreshed.status_code == 401
    assert registry.client.get(tags, headers=old_bearer).status_code == 401
    assert registry.client.get(tags, headers=from_pat).status_code == 404
    new_bearer = registry.bearer(registry.token(user.name, NEW, scope))
    assert registry.client.get(tags, headers=new_bearer).status_code == 404


def test_a_password_token_without_the_password_stamp_is_refused(
    registry: AuthRegistry, project: str
) -> None:
    from tests.auth.test_attacks import forged

    repository = f"{project}/img"
    tags = f"/v2/{repository}/tags/list"
    assert (
        registry.client.get(tags, headers=registry.bearer(forged(registry, repository))).status_code
        == 404
    )
    for stamp in (None, "0" * 16, 5):
        token = forged(registry, repository, pw=stamp)
        assert registry.client.get(tags, headers=registry.bearer(token)).status_code == 401
