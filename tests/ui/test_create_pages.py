"""Creating groups and projects from the web UI, under the rule the REST API applies
(dockyard/admin/creation_rights.py): who is offered the buttons, who may create where,
and the form coming back with a clear message (never a 500) when the input is refused."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from starlette.testclient import TestClient

from dockyard.admin import NotFound, accounts, members
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.support.browser import assert_accessible, sign_in
from tests.support.live_app import serve
from tests.ui.test_pages import csrf_of, signed_in

pytestmark = pytest.mark.timeout(300)


def fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def post(client: TestClient, url: str, **fields: str):  # noqa: ANN201 - an httpx response
    """Submit a creation form the way the page does (its CSRF token included)."""
    token = csrf_of(client.get(url).text)
    return client.post(url.split("?")[0], data={"csrf": token, **fields}, follow_redirects=False)


def exists(registry: AuthRegistry, path: str) -> bool:
    try:
        accounts.find_project(registry.db, path)
    except NotFound:
        return False
    return True


def options(page: str) -> list[str]:
    return re.findall(r'<option value="([^"]+)"', page)


def test_a_person_creates_a_group_a_subgroup_and_projects(registry: AuthRegistry) -> None:
    alice = registry.new_user()
    client = signed_in(registry, alice.name, alice.password)
    home = client.get("/").text
    assert 'href="/-/groups/new">New group</a>' in home
    assert 'href="/-/projects/new">New project</a>' in home
    form = client.get("/-/groups/new")
    assert form.status_code == 200 and "You become its Owner" in form.text
    assert '<label for="group-name">Group name</label>' in form.text
    group = fresh("team")
    made = post(client, "/-/groups/new", name=group)
    assert made.status_code == 303 and made.headers["location"] == f"/g/{group}"
    page = client.get(f"/g/{group}").text
    assert f"Group {group} created; you are its Owner." in page
    assert members.list_members(registry.db, group) == [(alice.name, "owner")]
    assert f'href="/-/groups/new?parent={group}">New subgroup</a>' in page
    assert f'href="/-/projects/new?namespace={group}">New project</a>' in page

    sub = post(client, f"/-/groups/new?parent={group}", parent=group, name="platform")
    assert sub.status_code == 303 and sub.headers["location"] == f"/g/{group}/platform"
    assert f"{group}/platform" in accounts.list_groups(registry.db)

    form = client.get(f"/-/projects/new?namespace={group}/platform").text
    assert options(form)[0] == alice.name  # their own namespace first
    assert {alice.name, group, f"{group}/platform"} <= set(options(form))
    assert f'<option value="{group}/platform" selected>' in form
    assert '<input type="radio" name="visibility" value="private" checked>' in form
    assert '<label for="project-name">Project name</label>' in form
    project = post(
        client,
        "/-/projects/new",
        namespace=f"{group}/platform",
        name="api",
        visibility="internal",
    )
    assert project.status_code == 303 and project.headers["location"] == f"/p/{group}/platform/api"
    assert accounts.find_project(registry.db, f"{group}/platform/api").visibility == "internal"
    landed = client.get(project.headers["location"])
    assert landed.status_code == 200 and f"Project {group}/platform/api created." in landed.text

    own = post(client, "/-/projects/new", namespace=alice.name, name="tools", visibility="private")
    assert own.status_code == 303 and own.headers["location"] == f"/p/{alice.name}/tools"
    assert accounts.find_project(registry.db, f"{alice.name}/tools").visibility == "private"


def test_a_developer_is_offered_nothing_and_refused(registry: AuthRegistry) -> None:
    group = fresh("dev")
    accounts.create_group(registry.db, group)
    developer = registry.new_user({group: "developer"})
    client = signed_in(registry, developer.name, developer.password)
    page = client.get(f"/g/{group}")
    assert page.status_code == 200
    assert "New project" not in page.text and "New subgroup" not in page.text
    assert group not in options(client.get("/-/projects/new").text)

    refused = post(client, "/-/projects/new", namespace=group, name="app", visibility="private")
    assert refused.status_code == 403
    text = html.unescape(refused.text)
    assert f"You may not manage group {group}" in text and "Choose another namespace" in text
    assert 'value="app"' in refused.text  # the form comes back filled in
    assert not exists(registry, f"{group}/app")
    subgroup = post(client, f"/-/groups/new?parent={group}", parent=group, name="sub")
    assert subgroup.status_code == 403 and f"{group}/sub" not in accounts.list_groups(registry.db)
    asked = client.get(f"/-/groups/new?parent={group}")
    assert asked.status_code == 403 and "Create a top-level group" in asked.text

    maintainer = registry.new_user({group: "maintainer"})  # the same pages, one role up
    boss = signed_in(registry, maintainer.name, maintainer.password)
    assert "New project" in boss.get(f"/g/{group}").text
    allowed = post(boss, "/-/projects/new", namespace=group, name="app", visibility="private")
    assert allowed.status_code == 303 and exists(registry, f"{group}/app")


def test_nobody_creates_in_someone_elses_namespace_but_an_admin(registry: AuthRegistry) -> None:
    alice, bob = registry.new_user(), registry.new_user()
    outsider = signed_in(registry, bob.name, bob.password)
    assert alice.name not in options(outsider.get("/-/projects/new").text)
    refused = post(outsider, "/-/projects/new", namespace=alice.name, name="x", visibility="public")
    assert refused.status_code == 404
    assert f"No group &#39;{alice.name}&#39;" in refused.text
    assert not exists(registry, f"{alice.name}/x")
    hidden = fresh("hidden")
    accounts.create_group(registry.db, hidden)
    unseen = post(outsider, "/-/groups/new", parent=hidden, name="mine")
    assert unseen.status_code == 404 and f"{hidden}/mine" not in accounts.list_groups(registry.db)

    admin = signed_in(registry, "admin", ADMIN_PASSWORD)
    assert alice.name in options(admin.get("/-/projects/new").text)
    made = post(admin, "/-/projects/new", namespace=alice.name, name="x", visibility="private")
    assert made.status_code == 303 and exists(registry, f"{alice.name}/x")


def test_with_auth_off_anyone_creates_anything(make_client: Callable[..., TestClient]) -> None:
    client = make_client()  # auth: none
    assert 'href="/-/groups/new">New group</a>' in client.get("/").text
    group = fresh("open")
    made = post(client, "/-/groups/new", name=group)
    assert made.status_code == 303 and made.headers["location"] == f"/g/{group}"
    assert "New subgroup" in client.get(f"/g/{group}").text
    sub = post(client, f"/-/groups/new?parent={group}", parent=group, name="team")
    assert sub.status_code == 303
    assert f"{group}/team" in options(client.get("/-/projects/new").text)
    project = post(
        client, "/-/projects/new", namespace=f"{group}/team", name="app", visibility="public"
    )
    assert project.status_code == 303 and project.headers["location"] == f"/p/{group}/team/app"
    assert client.get(f"/p/{group}/team/app").status_code == 200


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"name": "Bad Name"}, 400, "cannot name a project"),
        ({"name": "a/b"}, 400, "cannot name a project"),
        ({"name": ""}, 400, "Enter a name for the project"),
        ({"name": "x" * 300}, 400, "cannot name a project"),
        ({"namespace": ""}, 400, "Choose the namespace from the list"),
        ({"namespace": "a\x00b"}, 400, "is not a namespace. Choose the namespace from the list"),
        ({"namespace": "no-such-group"}, 404, "No group &#39;no-such-group&#39;"),
        ({"visibility": "secret"}, 400, "Choose who may see the project"),
    ],
)
def test_a_refused_project_form_comes_back_with_the_reason(
    registry: AuthRegistry, fields: dict[str, str], status: int, message: str
) -> None:
    user = registry.new_user()
    client = signed_in(registry, user.name, user.password)
    values = {"namespace": user.name, "name": "app", "visibility": "private", **fields}
    resp = post(client, "/-/projects/new", **values)
    assert resp.status_code == status, resp.text[:300]
    assert message in resp.text and 'role="alert"' in resp.text
    assert '<form method="post" action="/-/projects/new">' in resp.text
    assert not exists(registry, f"{user.name}/app")


def test_duplicates_and_bad_group_names_come_back_with_the_reason(registry: AuthRegistry) -> None:
    user = registry.new_user()
    client = signed_in(registry, user.name, user.password)
    first = post(client, "/-/projects/new", namespace=user.name, name="app", visibility="private")
    assert first.status_code == 303
    again = post(client, "/-/projects/new", namespace=user.name, name="app", visibility="public")
    assert again.status_code == 400
    assert f"{user.name}/app&#39; already exists. Change the name" in again.text
    assert accounts.find_project(registry.db, f"{user.name}/app").visibility == "private"

    group = fresh("dup")
    assert post(client, "/-/groups/new", name=group).status_code == 303
    twice = post(client, "/-/groups/new", name=group)
    assert twice.status_code == 400 and "already exists" in twice.text
    taken = post(client, "/-/groups/new", name=user.name)  # a username is a namespace too
    assert taken.status_code == 400 and "already exists" in taken.text
    bad = post(client, "/-/groups/new", name="Team One")
    assert bad.status_code == 400 and "cannot name a group" in bad.text
    assert 'value="Team One"' in bad.text
    odd = client.get("/-/groups/new?parent=..%2Fx")
    assert odd.status_code == 400 and "is not a parent group. Open New subgroup" in odd.text


def test_forms_without_the_csrf_token_create_nothing(registry: AuthRegistry) -> None:
    user = registry.new_user()
    client = signed_in(registry, user.name, user.password)
    group = fresh("forged")
    forged = client.post("/-/groups/new", data={"name": group}, follow_redirects=False)
    assert forged.status_code == 403 and group not in accounts.list_groups(registry.db)
    forged = client.post(
        "/-/projects/new",
        data={"namespace": user.name, "name": "forged", "visibility": "private"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and not exists(registry, f"{user.name}/forged")
    away = TestClient(registry.client.app).get("/-/projects/new", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/-/login")


@pytest.fixture(scope="module")
def live(make_auth_registry: Callable[..., AuthRegistry]) -> Iterator[tuple[AuthRegistry, str]]:
    registry = make_auth_registry("sqlite", scan_on_push=False)
    with serve(registry.client.app) as (url, errors):
        yield registry, url
    assert not errors, f"the app raised while serving the browser: {errors!r}"


def test_new_group_then_new_project_in_a_browser(
    page: Page, live: tuple[AuthRegistry, str]
) -> None:
    registry, url = live
    user = registry.new_user()
    group = fresh("web")
    sign_in(page, url, user.name, user.password)
    page.get_by_role("link", name="New group").click()
    expect(page.locator("h1")).to_have_text("New group")
    assert_accessible(page)
    page.get_by_label("Group name").fill(group)
    page.get_by_role("button", name="Create group").click()
    expect(page).to_have_url(f"{url}/g/{group}")
    expect(page.locator(".flash")).to_contain_text("you are its Owner")
    page.get_by_role("link", name="New project").click()
    expect(page.get_by_label("Namespace")).to_have_value(group)
    assert_accessible(page)
    page.get_by_label("Project name").fill("site")
    page.get_by_label("Public").check()
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(f"{url}/p/{group}/site")
    expect(page.locator("h1")).to_contain_text(f"{group}/site")
    expect(page.locator(".flash")).to_contain_text(f"Project {group}/site created.")
    assert accounts.find_project(registry.db, f"{group}/site").visibility == "public"


def test_the_rest_api_applies_the_same_rule_with_its_own_answers(registry: AuthRegistry) -> None:
    group = fresh("rest")
    accounts.create_group(registry.db, group)
    developer = registry.new_user({group: "developer"})
    outsider = registry.new_user()

    def create(user, kind: str, path: str):  # noqa: ANN001, ANN202 - an httpx response
        headers = {"PRIVATE-TOKEN": user.pat}
        return registry.client.post(f"/api/v1/{kind}", json={"path": path}, headers=headers)

    refused = create(developer, "projects", f"{group}/app")
    assert refused.status_code == 403
    assert refused.json() == {
        "error": {"code": "forbidden", "message": f"you may not manage group {group}"}
    }
    hidden = create(outsider, "groups", f"{group}/sub")
    assert hidden.status_code == 404
    assert hidden.json() == {"error": {"code": "not_found", "message": f"no group '{group}'"}}
    mine = create(outsider, "groups", fresh("own"))
    assert mine.status_code == 201
    assert members.list_members(registry.db, mine.json()["path"]) == [(outsider.name, "owner")]
