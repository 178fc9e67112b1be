"""The administrator's pages through HTTP, on SQLite and PostgreSQL: the user list (who
sees it, the filter, block / unblock / admin rights / password resets and their messages,
the last-admin rule, bad form values) and the read-only settings page (no secret in the
page, where each value came from). The browser path is in test_admin_browser.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from dockyard.admin import Conflict, Forbidden, accounts
from dockyard.http.ui.admin_views import users_url
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry, User
from tests.ui.test_pages import csrf_of, signed_in

BLOCKED = "this account is blocked: ask an administrator to unblock it"
NEW_PASSWORD = "a-brand-new-password-42"  # noqa: S105


@pytest.fixture(scope="module")
def reg(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend)


@pytest.fixture
def admin(reg: AuthRegistry) -> TestClient:
    return signed_in(reg, "admin", ADMIN_PASSWORD)


def row_of(html: str, username: str) -> str:
    match = re.search(rf'<tr data-user="{re.escape(username)}">(.*?)</tr>', html, re.DOTALL)
    assert match, f"no row for {username}"
    return match.group(1)


def flash_of(html: str) -> str:
    match = re.search(r'<p class="flash" role="status">(.*?)</p>', html, re.DOTALL)
    assert match, "the page has no flash message"
    return match.group(1).replace("&#39;", "'")


def act(client: TestClient, action: str, username: str, q: str = "", **fields: str):  # noqa: ANN201
    """Post one action of the user list and follow the redirect (the page it lands on)."""
    page = client.get(users_url(q))
    form = {"csrf": csrf_of(page.text), "action": action, "username": username, "q": q}
    return client.post("/-/admin/users", data={**form, **fields})


def login_page(reg: AuthRegistry, username: str, password: str):  # noqa: ANN201
    client = TestClient(reg.client.app)
    token = csrf_of(client.get("/-/login").text)
    return client.post(
        "/-/login",
        data={"username": username, "password": password, "csrf": token, "next": "/"},
        follow_redirects=False,
    )


def test_only_admins_see_the_admin_pages(reg: AuthRegistry, admin: TestClient) -> None:
    user = reg.new_user()
    other = reg.new_user()
    person = signed_in(reg, user.name, user.password)
    for path in ("/-/admin/users", "/-/admin/settings"):
        refused = person.get(path)
        assert refused.status_code == 404 and "Not found" in refused.text
        assert admin.get(path).status_code == 200
        anonymous = TestClient(reg.client.app).get(path, follow_redirects=False)
        assert anonymous.status_code == 303 and "/-/login" in anonymous.headers["location"]
    token = csrf_of(person.get("/").text)
    forged = person.post(
        "/-/admin/users", data={"csrf": token, "action": "block", "username": other.name}
    )
    assert forged.status_code == 404
    assert not accounts.find_user(reg.db, other.name).is_blocked
    assert 'href="/-/admin/settings"' not in person.get("/").text
    header = admin.get("/").text
    assert all(f'href="/-/admin/{p}"' in header for p in ("users", "storage", "settings"))


def test_the_filter_matches_username_or_email_in_any_case(
    reg: AuthRegistry, admin: TestClient
) -> None:
    tag = uuid.uuid4().hex[:8]
    accounts.create_user(reg.db, f"zeta-{tag}", f"z-{tag}@example.com", NEW_PASSWORD)
    accounts.create_user(reg.db, f"alpha-{tag}", f"a-{tag}@example.com", NEW_PASSWORD)
    accounts.create_user(reg.db, f"mail-{tag}", f"Owner.{tag}@Corp.Example", NEW_PASSWORD)
    total = len(accounts.list_users(reg.db))
    page = admin.get("/-/admin/users", params={"q": f"  {tag.upper()} "}).text
    rows = re.findall(r'<tr data-user="([^"]+)">', page)
    assert rows == [f"alpha-{tag}", f"mail-{tag}", f"zeta-{tag}"]  # by name
    assert f"3 of {total} users match" in page
    assert f'name="q" value="{tag.upper()}"' in page  # every form carries the filter
    by_email = admin.get("/-/admin/users", params={"q": f"owner.{tag}@corp"}).text
    assert re.findall(r'<tr data-user="([^"]+)">', by_email) == [f"mail-{tag}"]
    nothing = admin.get("/-/admin/users", params={"q": f"nobody-{tag}"}).text
    assert "<table" not in nothing and f"No user matches “nobody-{tag}”" in nothing
    everyone = admin.get("/-/admin/users").text
    assert f"{total} users, by name" in everyone
    assert len(re.findall(r'<tr data-user="', everyone)) == total


def test_the_list_shows_state_badges_and_dates(reg: AuthRegistry, admin: TestClient) -> None:
    user = reg.new_user()
    page = admin.get("/-/admin/users", params={"q": user.name}).text
    assert "never" in row_of(page, user.name)  # has not signed in yet
    assert "just now" in row_of(page, user.name)  # created
    signed_in(reg, user.name, user.password)
    row = row_of(admin.get("/-/admin/users", params={"q": user.name}).text, user.name)
    assert row.count("just now") == 2 and "never" not in row
    own = row_of(admin.get("/-/admin/users", params={"q": "admin"}).text, "admin")
    assert '<span class="badge">admin</span>' in own and '<span class="badge">you</span>' in own
    assert 'value="block"' not in own and 'value="drop_admin"' not in own  # not on oneself


def test_block_unblock_and_admin_rights_take_effect(reg: AuthRegistry, admin: TestClient) -> None:
    user = reg.new_user()
    session = signed_in(reg, user.name, user.password)
    q = user.name[:6].upper()
    blocked = act(admin, "block", user.name, q=q)
    assert str(blocked.url).endswith(f"/-/admin/users?q={q}")  # the filter is kept
    assert flash_of(blocked.text) == f"{user.name} is blocked and signed out everywhere"
    assert '<span class="badge warn">blocked</span>' in row_of(blocked.text, user.name)
    assert 'value="unblock"' in row_of(blocked.text, user.name)
    assert session.get("/", follow_redirects=False).status_code == 303  # signed out
    refused = login_page(reg, user.name, user.password)
    assert refused.status_code == 401 and BLOCKED in refused.text
    registry_login = reg.token_response(user.name, user.password)
    assert registry_login.status_code == 403 and "blocked" in registry_login.text

    unblocked = act(admin, "unblock", user.name)
    assert flash_of(unblocked.text) == f"{user.name} is unblocked and can sign in again"
    assert "blocked</span>" not in row_of(unblocked.text, user.name)
    assert login_page(reg, user.name, user.password).status_code == 303

    made = act(admin, "make_admin", user.name)
    assert flash_of(made.text) == f"{user.name} is an administrator now"
    assert signed_in(reg, user.name, user.password).get("/-/admin/users").status_code == 200
    dropped = act(admin, "drop_admin", user.name)
    assert flash_of(dropped.text) == f"{user.name} is no longer an administrator"
    assert signed_in(reg, user.name, user.password).get("/-/admin/users").status_code == 404


def test_destructive_actions_ask_for_confirmation(reg: AuthRegistry, admin: TestClient) -> None:
    user = reg.new_user(admin=True)
    row = row_of(admin.get("/-/admin/users", params={"q": user.name}).text, user.name)
    forms = re.findall(r"<form [^>]*>.*?</form>", row, re.DOTALL)
    confirms = {
        re.search(r'name="action" value="(\w+)"', f).group(1): re.search(
            r'data-confirm-button="([^"]+)"', f
        )
        for f in forms
    }
    assert {a: m and m.group(1) for a, m in confirms.items()} == {
        "block": "Block",
        "drop_admin": "Remove admin",
        "set_password": "Reset password",
    }
    assert f'data-confirm="{user.name} will be signed out everywhere' in row
    assert re.search(r'<label for="password-\d+">New password for ' + user.name, row)


def test_an_admin_resets_a_password(reg: AuthRegistry, admin: TestClient) -> None:
    user = reg.new_user()
    session = signed_in(reg, user.name, user.password)
    reset = act(admin, "set_password", user.name, password=NEW_PASSWORD)
    said = f"{user.name}'s password was reset and their sessions were signed out"
    assert flash_of(reset.text) == said
    assert session.get("/", follow_redirects=False).status_code == 303
    assert login_page(reg, user.name, NEW_PASSWORD).status_code == 303
    assert login_page(reg, user.name, user.password).status_code == 401


def test_an_admin_creates_a_user(reg: AuthRegistry, admin: TestClient) -> None:
    name = f"new-{uuid.uuid4().hex[:8]}"
    made = act(
        admin, "create", name, email=f"{name}@example.com", password=NEW_PASSWORD, is_admin="on"
    )
    assert flash_of(made.text) == f"{name} was created as an administrator"
    assert accounts.find_user(reg.db, name).is_admin
    assert login_page(reg, name, NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ({"action": "explode", "username": "admin"}, "unknown action 'explode'"),
        ({"action": "", "username": "admin"}, "unknown action ''"),
        ({"action": "block", "username": "  "}, "the username is empty"),
        ({"action": "create", "username": ""}, "the username is empty"),
        ({"action": "block", "username": "ghost-nobody"}, "no user 'ghost-nobody'"),
        ({"action": "set_password", "password": "short"}, "too short: use at least 12"),
        ({"action": "create", "username": "Bad Name!", "email": "b@x.io"}, "invalid username"),
        ({"action": "create", "email": ""}, "the email is empty"),
        ({"action": "block", "username": "admin"}, "you cannot block yourself"),
        ({"action": "drop_admin", "username": "admin"}, "remove your own administrator"),
        ({"action": "set_password", "username": "admin"}, "on the Password page"),
    ],
)
def test_bad_values_get_a_clear_message(
    reg: AuthRegistry, admin: TestClient, form: dict[str, str], said: str
) -> None:
    user = reg.new_user()
    fields = {"username": user.name, "password": NEW_PASSWORD, **form}
    page = act(admin, fields.pop("action"), fields.pop("username"), **fields)
    assert page.status_code == 200 and said in flash_of(page.text)
    assert login_page(reg, user.name, user.password).status_code == 303  # nothing changed
    assert accounts.find_user(reg.db, "admin").is_admin
    assert not accounts.find_user(reg.db, "admin").is_blocked


def test_the_last_admin_is_never_demoted_or_blocked(
    backend: str, make_auth_registry: Callable[..., AuthRegistry]
) -> None:
    fresh = make_auth_registry(backend)
    for flags in ({"admin": False}, {"blocked": True}):
        with pytest.raises(Conflict, match="admin is the last administrator"):
            accounts.set_user_flags(fresh.db, "admin", **flags)
    api = fresh.client.patch(
        "/api/v1/users/admin",
        json={"is_admin": False},
        headers={"Authorization": f"Bearer {fresh.admin_pat}"},
    )
    # through the API the caller is an admin too, so the self rule answers first
    assert api.status_code == 403 and "ask another administrator" in api.text
    second = fresh.new_user(admin=True)
    accounts.set_user_flags(fresh.db, second.name, blocked=True)  # a blocked admin is no help
    with pytest.raises(Conflict):
        accounts.set_user_flags(fresh.db, "admin", admin=False)
    with pytest.raises(Forbidden, match="you cannot block yourself"):
        accounts.set_user_flags(fresh.db, second.name, blocked=True, actor=second.name)
    accounts.set_user_flags(fresh.db, second.name, blocked=False)
    accounts.set_user_flags(fresh.db, "admin", admin=False)  # someone else is left
    with pytest.raises(Conflict, match="is the last administrator"):
        accounts.set_user_flags(fresh.db, second.name, blocked=True)
    assert accounts.find_user(fresh.db, second.name).is_admin


def test_a_blocked_user_is_told_so_only_with_the_right_password(reg: AuthRegistry) -> None:
    user: User = reg.new_user()
    accounts.set_user_flags(reg.db, user.name, blocked=True)
    right = login_page(reg, user.name, user.password)
    assert right.status_code == 401
    assert f'<p class="error" role="alert">{BLOCKED}</p>' in right.text
    wrong = login_page(reg, user.name, "not-the-password-at-all")
    assert wrong.status_code == 401
    assert '<p class="error" role="alert">invalid username or password</p>' in wrong.text
    assert "blocked" not in wrong.text


def test_the_settings_page_hides_secrets_and_says_where_values_came_from(
    backend: str, make_auth_registry: Callable[..., AuthRegistry]
) -> None:
    secret, auth_header = f"s3-{uuid.uuid4().hex}", f"Bearer {uuid.uuid4().hex}"
    env = {"DOCKYARD_TOKEN_TTL_SECONDS": "420", "DOCKYARD_SCANNER_AUTH": auth_header}
    fresh = make_auth_registry(backend, environ=env, s3_secret_key=secret)
    page = signed_in(fresh, "admin", ADMIN_PASSWORD).get("/-/admin/settings")
    assert page.status_code == 200
    html = page.text
    for hidden in (secret, auth_header, auth_header.split()[1], ADMIN_PASSWORD):
        assert hidden not in html
    assert "s3_secret_key" in html and "scanner_auth" in html and "admin_password" in html
    assert "restart" in html

    def row(name: str) -> str:
        match = re.search(rf'<tr id="setting-{name}"(.*?)</tr>', html, re.DOTALL)
        assert match, name
        return re.sub(r"\s+", " ", match.group(1))

    assert 'data-source="environment"' in row("token_ttl_seconds")
    assert "<code>420</code>" in row("token_ttl_seconds")
    assert "environment <code>DOCKYARD_TOKEN_TTL_SECONDS</code>" in row("token_ttl_seconds")
    assert "<code>300</code>" in row("token_ttl_seconds")  # its default
    assert "Lifetime of pull tokens." in row("token_ttl_seconds")
    assert ">set</span>" in row("s3_secret_key") and "command line" in row("s3_secret_key")
    assert ">set</span>" in row("scanner_auth") and "DOCKYARD_SCANNER_AUTH" in row("scanner_auth")
    assert ">not set</span>" in row("s3_access_key")
    assert 'data-source="default"' in row("page_size_max") and "<code>1000</code>" in row(
        "page_size_max"
    )
    headings = re.findall(r'<h2 id="settings-[a-z-]+">([^<]+)</h2>', html)
    assert headings[:4] == ["Server", "Storage", "Database", "Authentication"]
    assert {"Scanning", "Webhooks", "Garbage collection"} <= set(headings)
