"""Web sessions live on the server: sign-out, a password change and a block end them at
once, a copied cookie included; tokens never open one; a blocked user is told so."""

from __future__ import annotations

from starlette.testclient import TestClient

from dockyard.admin import accounts
from dockyard.admin import tokens as admin_tokens
from tests.support.auth_registry import AuthRegistry
from tests.ui.test_pages import csrf_of, signed_in

NEW = "a-brand-new-long-password"


def is_signed_in(client: TestClient) -> bool:
    resp = client.get("/-/settings/tokens", follow_redirects=False)
    return resp.status_code == 200


def replay(registry: AuthRegistry, cookie: str) -> TestClient:
    thief = TestClient(registry.client.app)
    thief.cookies.set("dockyard_session", cookie)
    return thief


def test_sign_out_ends_the_session_even_for_a_copied_cookie(registry: AuthRegistry) -> None:
    user = registry.new_user()
    client = signed_in(registry, user.name, user.password)
    copied = client.cookies["dockyard_session"]
    assert is_signed_in(replay(registry, copied))
    page = client.get("/")
    out = client.post("/-/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert not is_signed_in(client)
    assert not is_signed_in(replay(registry, copied))


def test_a_password_change_signs_out_the_other_sessions(registry: AuthRegistry) -> None:
    user = registry.new_user()
    here = signed_in(registry, user.name, user.password)
    elsewhere = signed_in(registry, user.name, user.password)
    form = here.get("/-/settings/password")
    assert form.status_code == 200 and "Current password" in form.text
    differ = here.post(
        "/-/settings/password",
        data={
            "csrf": csrf_of(form.text),
            "current_password": user.password,
            "new_password": NEW,
            "confirm_password": NEW + "x",
        },
    )
    assert "the two new passwords differ" in differ.text
    assert is_signed_in(elsewhere)
    done = here.post(
        "/-/settings/password",
        data={
            "csrf": csrf_of(form.text),
            "current_password": user.password,
            "new_password": NEW,
            "confirm_password": NEW,
        },
    )
    assert "password changed" in done.text
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert registry.token_response(user.name, user.password).status_code == 401
    assert registry.token_response(user.name, NEW).status_code == 200


def test_an_admin_reset_and_a_block_end_every_session(registry: AuthRegistry) -> None:
    user = registry.new_user()
    client = signed_in(registry, user.name, user.password)
    admin = signed_in(registry, "admin", registry.settings.admin_password)
    page = admin.get("/-/admin/users")
    assert "Set password" in page.text
    admin.post(
        "/-/admin/users",
        data={
            "csrf": csrf_of(page.text),
            "username": user.name,
            "action": "set_password",
            "password": NEW,
        },
    )
    assert not is_signed_in(client)
    assert registry.token_response(user.name, NEW).status_code == 200

    client = signed_in(registry, user.name, NEW)
    accounts.set_user_flags(registry.db, user.name, blocked=True)
    assert not is_signed_in(client)


def test_tokens_never_sign_in_to_the_ui(registry: AuthRegistry) -> None:
    user = registry.new_user()
    client = TestClient(registry.client.app)
    for scopes in (["read_registry"], ["write_registry"], ["api"]):
        secret = admin_tokens.create_personal(registry.db, user.name, "t", scopes).secret
        login = client.get("/-/login")
        resp = client.post(
            "/-/login",
            data={"username": user.name, "password": secret, "csrf": csrf_of(login.text)},
            follow_redirects=False,
        )
        assert resp.status_code == 401
        assert "access tokens work only for the registry and the REST API" in resp.text
        assert not is_signed_in(client)


def test_a_blocked_user_is_told_so_only_with_the_right_password(registry: AuthRegistry) -> None:
    user = registry.new_user()
    accounts.set_user_flags(registry.db, user.name, blocked=True)
    client = TestClient(registry.client.app)
    for password, expected in ((user.password, True), ("wrong-password-here", False)):
        login = client.get("/-/login")
        resp = client.post(
            "/-/login",
            data={"username": user.name, "password": password, "csrf": csrf_of(login.text)},
            follow_redirects=False,
        )
        assert resp.status_code in (401, 403)
        assert ("blocked" in resp.text) is expected


def test_admin_forms_apply_the_password_policy(registry: AuthRegistry) -> None:
    user = registry.new_user()
    admin = signed_in(registry, "admin", registry.settings.admin_password)
    page = admin.get("/-/admin/users")
    csrf = csrf_of(page.text)
    weak_reset = admin.post(
        "/-/admin/users",
        data={"csrf": csrf, "username": user.name, "action": "set_password", "password": "short"},
    )
    assert "too short: use at least 12 characters" in weak_reset.text
    assert registry.token_response(user.name, user.password).status_code == 200
    weak_new = admin.post(
        "/-/admin/users",
        data={
            "csrf": csrf,
            "action": "create",
            "username": "zed",
            "email": "z@example.com",
            "password": "ZED-zed-zed-1",
        },
    )
    assert "leans on the username" in weak_new.text
    assert "zed" not in {u.username for u in accounts.list_users(registry.db)}


def test_the_ui_refuses_a_wrong_current_password(registry: AuthRegistry) -> None:
    user = registry.new_user()
    client = signed_in(registry, user.name, user.password)
    form = client.get("/-/settings/password")
    resp = client.post(
        "/-/settings/password",
        data={
            "csrf": csrf_of(form.text),
            "current_password": "not-it-at-all",
            "new_password": NEW,
            "confirm_password": NEW,
        },
    )
    assert "the current password is wrong" in resp.text
    assert registry.token_response(user.name, user.password).status_code == 200


def test_expired_sessions_stop_working_and_are_swept(make_auth_registry) -> None:  # noqa: ANN001
    import time

    from sqlalchemy import func, select

    from dockyard.db.models import WebSession

    registry = make_auth_registry("sqlite", session_ttl_seconds=1)
    user = registry.new_user()
    client = signed_in(registry, user.name, user.password)
    assert is_signed_in(client)
    time.sleep(1.2)
    assert not is_signed_in(client)
    signed_in(registry, user.name, user.password)  # a new sign-in sweeps the expired one
    with registry.db.session() as conn:
        assert conn.execute(select(func.count()).select_from(WebSession)).scalar_one() == 1
