"""REST password rules: the policy on new users too, clear 4xx answers for bad bodies, and
a change made from a web session keeps that session while ending the others."""

from __future__ import annotations

import pytest

from tests.support.auth_registry import AuthRegistry
from tests.ui.test_pages import csrf_of, signed_in

NEW = "a-brand-new-long-password"


def pat(secret: str) -> dict[str, str]:
    return {"PRIVATE-TOKEN": secret}


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw", "the password is too short: use at least 12 characters"),
        ("{name}{name}", "the password leans on the username: use at least 12 characters"),
        ("x" * 1025, "too long"),
    ],
)
def test_new_users_follow_the_policy(registry: AuthRegistry, password: str, message: str) -> None:
    name = f"n{registry.new_user().name}"
    resp = registry.client.post(
        "/api/v1/users",
        json={
            "username": name,
            "email": "n@example.com",
            "password": password.format(name=name.upper()),
        },
        headers=pat(registry.admin_pat),
    )
    assert resp.status_code in (400, 422), resp.text
    if resp.status_code == 400:
        assert message in resp.json()["error"]["message"]
    users = registry.client.get("/api/v1/users", headers=pat(registry.admin_pat)).json()
    assert name not in {u["username"] for u in users}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"current_password": "x"},
        {"new_password": NEW},
        {"current_password": 5, "new_password": []},
        {"current_password": "x" * 5000, "new_password": NEW},
    ],
)
def test_malformed_bodies_are_clear_4xx(registry: AuthRegistry, body: dict) -> None:
    user = registry.new_user()
    resp = registry.client.put("/api/v1/user/password", json=body, headers=pat(user.pat))
    assert resp.status_code in (400, 422), resp.text
    assert "error" in resp.json()
    reset = registry.client.put(
        f"/api/v1/users/{user.name}/password",
        json={"password": NEW},
        headers=pat(registry.admin_pat),
    )
    assert reset.status_code in (400, 422)
    assert registry.token_response(user.name, user.password).status_code == 200


def test_a_change_from_the_ui_session_keeps_it_and_ends_the_others(registry: AuthRegistry) -> None:
    user = registry.new_user()
    here = signed_in(registry, user.name, user.password)
    elsewhere = signed_in(registry, user.name, user.password)
    csrf = csrf_of(here.get("/").text)
    body = {"current_password": user.password, "new_password": NEW}
    no_csrf = here.put("/api/v1/user/password", json=body)
    assert no_csrf.status_code == 403
    changed = here.put("/api/v1/user/password", json=body, headers={"X-CSRF-Token": csrf})
    assert changed.status_code == 204, changed.text
    assert here.get("/api/v1/user").status_code == 200
    assert elsewhere.get("/api/v1/user").status_code == 401


def test_a_session_user_who_is_no_admin_cannot_reset(registry: AuthRegistry) -> None:
    user, other = registry.new_user(), registry.new_user()
    client = signed_in(registry, user.name, user.password)
    csrf = csrf_of(client.get("/").text)
    resp = client.put(
        f"/api/v1/users/{other.name}/password",
        json={"new_password": NEW},
        headers={"X-CSRF-Token": csrf},
    )
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    assert registry.token_response(other.name, other.password).status_code == 200


def test_guessing_the_current_password_is_paused_like_a_login(make_auth_registry) -> None:  # noqa: ANN001
    """The change endpoint must not be an unlimited password oracle for a stolen session
    or token: wrong current passwords count as failed logins, and a token is no password."""
    registry = make_auth_registry("sqlite", login_max_failures=3)
    user = registry.new_user()
    body = {"current_password": user.pat, "new_password": NEW}
    as_token = registry.client.put("/api/v1/user/password", json=body, headers=pat(user.pat))
    assert as_token.status_code == 400
    assert "current password is wrong" in as_token.json()["error"]["message"]
    statuses = []
    for _ in range(3):
        body = {"current_password": "a-wrong-guess-here", "new_password": NEW}
        resp = registry.client.put("/api/v1/user/password", json=body, headers=pat(user.pat))
        statuses.append(resp.status_code)
    assert statuses == [400, 400, 400]
    body = {"current_password": user.password, "new_password": NEW}
    paused = registry.client.put("/api/v1/user/password", json=body, headers=pat(user.pat))
    assert paused.status_code == 429, paused.text
    assert paused.json()["error"]["code"] == "too_many_requests"
    assert registry.token_response(user.name, user.password).status_code == 429
