"""The web UI's server side through HTTP: sign-in, CSRF, headers, and the no-JavaScript
paths (confirm page, repository deletion). The browser tests are in tests/integration."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.api.helpers import push_image
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def signed_in(registry: AuthRegistry, username: str, password: str) -> TestClient:
    client = TestClient(registry.client.app)
    login = client.get("/-/login")
    resp = client.post(
        "/-/login",
        data={"username": username, "password": password, "csrf": csrf_of(login.text), "next": "/"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return client


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    project = registry.new_project("private")
    for tag in ("v1", "v2", "dev-1", "dev-2"):
        push_image(registry, f"{project}/app", tag, layers=[tag.encode()])
    return project


def test_pages_need_a_session_and_carry_secure_headers(registry: AuthRegistry) -> None:
    client = TestClient(registry.client.app)
    resp = client.get("/", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/-/login")
    page = client.get("/-/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_forms_without_the_csrf_token_are_refused(registry: AuthRegistry, project: str) -> None:
    client = TestClient(registry.client.app)
    client.get("/-/login")
    forged = client.post(
        "/-/login", data={"username": "admin", "password": ADMIN_PASSWORD}, follow_redirects=False
    )
    assert forged.status_code == 403
    admin = signed_in(registry, "admin", ADMIN_PASSWORD)
    resp = admin.post(f"/r/{project}/app/-/delete-tags", data={"tags": ["v1"], "confirmed": "1"})
    assert resp.status_code == 403
    api = admin.post("/api/v1/registry/repositories/1/tags/delete", json={"tags": ["v1"]})
    assert api.status_code == 403  # the session also needs X-CSRF-Token on the API


def test_wrong_password(registry: AuthRegistry) -> None:
    client = TestClient(registry.client.app)
    login = client.get("/-/login")
    resp = client.post(
        "/-/login", data={"username": "admin", "password": "nope", "csrf": csrf_of(login.text)}
    )
    assert resp.status_code == 401 and "invalid" in resp.text


def test_delete_with_confirmation_page(registry: AuthRegistry, project: str) -> None:
    admin = signed_in(registry, "admin", ADMIN_PASSWORD)
    page = admin.get(f"/r/{project}/app")
    assert page.status_code == 200 and "dev-1" in page.text
    token = csrf_of(page.text)
    ask = admin.post(
        f"/r/{project}/app/-/delete-tags", data={"csrf": token, "all_matching": "1", "name": "dev-"}
    )
    assert ask.status_code == 200 and "Delete 2 tags" in ask.text
    done = admin.post(
        f"/r/{project}/app/-/delete-tags",
        data={"csrf": token, "confirmed": "1", "tags": ["dev-1", "dev-2"]},
    )
    assert done.status_code == 200 and "deleted 2 tag(s)" in done.text
    assert "dev-1" not in admin.get(f"/r/{project}/app").text


def test_repository_deletion_needs_the_typed_path(registry: AuthRegistry, project: str) -> None:
    admin = signed_in(registry, "admin", ADMIN_PASSWORD)
    token = csrf_of(admin.get(f"/r/{project}/app").text)
    wrong = admin.post(f"/r/{project}/app/-/delete", data={"csrf": token, "confirm_name": "x"})
    assert "type the repository path" in wrong.text
    right = admin.post(
        f"/r/{project}/app/-/delete", data={"csrf": token, "confirm_name": f"{project}/app"}
    )
    assert "will be deleted" in right.text and "delete scheduled" in right.text


def test_what_a_reporter_is_offered(registry: AuthRegistry, project: str) -> None:
    reporter = registry.new_user({project: "reporter"})
    client = signed_in(registry, reporter.name, reporter.password)
    page = client.get(f"/r/{project}/app")
    assert page.status_code == 200
    assert "Delete selected" not in page.text and "Delete repository" not in page.text
    assert client.get(f"/p/{project}/-/settings").status_code == 404
    token = csrf_of(page.text)
    refused = client.post(
        f"/r/{project}/app/-/delete-tags", data={"csrf": token, "confirmed": "1", "tags": ["v1"]}
    )
    assert refused.status_code == 404
    outsider = registry.new_user()
    stranger = signed_in(registry, outsider.name, outsider.password)
    assert stranger.get(f"/r/{project}/app").status_code == 404
    assert stranger.get(f"/p/{project}").status_code == 404


def test_project_settings_and_tokens(registry: AuthRegistry, project: str) -> None:
    maintainer = registry.new_user({project: "maintainer"})
    client = signed_in(registry, maintainer.name, maintainer.password)
    settings = client.get(f"/p/{project}/-/settings")
    assert settings.status_code == 200 and "Members" in settings.text
    assert "Visibility" not in settings.text  # that takes Owner
    token = csrf_of(settings.text)
    newcomer = registry.new_user()
    added = client.post(
        f"/p/{project}/-/settings",
        data={
            "csrf": token,
            "action": "add_member",
            "username": newcomer.name,
            "role": "developer",
        },
    )
    assert "member saved" in added.text and newcomer.name in added.text
    owner = client.post(
        f"/p/{project}/-/settings",
        data={"csrf": token, "action": "visibility", "visibility": "public"},
    )
    assert owner.status_code == 404
    created = client.post(
        f"/p/{project}/-/settings",
        data={"csrf": token, "action": "create_deploy_token", "name": "k8s", "read_registry": "on"},
    )
    assert "dy_deploy_" in created.text
    deploy_secret = re.search(r'id="new-token">(dy_deploy_[^<]+)<', created.text).group(1)
    assert f'data-copy="{deploy_secret}"' in created.text  # a copy button for the secret
    login = re.search(r"Username <code>([^<]+)</code>", created.text).group(1)
    assert registry.token_response(login, deploy_secret).status_code == 200
    mine = client.post(
        "/-/settings/tokens", data={"csrf": token, "name": "laptop", "read_registry": "on"}
    )
    secret = re.search(r'id="new-token">(dy_pat_[^<]+)<', mine.text).group(1)
    assert registry.token_response(maintainer.name, secret).status_code == 200
    assert secret not in client.get("/-/settings/tokens").text  # shown once


def test_search_finds_only_visible_projects_and_images(
    registry: AuthRegistry, project: str
) -> None:
    hidden = registry.new_project("private")
    push_image(registry, f"{hidden}/app", "v1", layers=[b"hidden"])
    reporter = registry.new_user({project: "reporter"})
    client = signed_in(registry, reporter.name, reporter.password)
    found = client.get(f"/-/search?q={project.split('/')[1]}")
    assert found.status_code == 200 and f"/p/{project}" in found.text
    images = client.get("/-/search?q=app").text
    assert f"/r/{project}/app" in images and f"/r/{hidden}/app" not in images
