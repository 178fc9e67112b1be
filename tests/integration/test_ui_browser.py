"""The web UI in a real browser (Debian's Chromium driven by Playwright) against a live
server with token auth, after skopeo pushed the tags it shows."""

from __future__ import annotations

import secrets

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.integration.clients import ClientSandbox, ImageBuilder, LayoutImage
from tests.integration.conftest import ADMIN_PASSWORD, LiveServer
from tests.support.browser import sign_in

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def image(auth_sandbox: ClientSandbox, tmp_path_factory: pytest.TempPathFactory) -> LayoutImage:
    return ImageBuilder(auth_sandbox, tmp_path_factory.mktemp("ui-images")).single("uitiny")


def registry_tags(server: LiveServer, repository: str) -> list[str]:
    token = httpx.get(
        f"{server.url}/jwt/auth",
        params={"service": "dockyard", "scope": f"repository:{repository}:pull"},
        auth=("admin", ADMIN_PASSWORD),
    ).json()["token"]
    resp = httpx.get(
        f"{server.url}/v2/{repository}/tags/list", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["tags"]


def test_browse_filter_sort_and_bulk_delete(
    page: Page,
    auth_server: LiveServer,
    auth_sandbox: ClientSandbox,
    image: LayoutImage,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    group = f"ui-{secrets.token_hex(3)}"
    auth_server.cli("group", "create", group)
    auth_server.cli("project", "create", f"{group}/web")
    repository = f"{group}/web/frontend"
    tags = ["v1.0", "v1.1", "v2.0", "nightly-1", "nightly-2"]
    creds = f"admin:{ADMIN_PASSWORD}"
    for tag in tags:  # pushed in this order, so v1.0 is the oldest
        auth_sandbox.skopeo_copy(
            image.ref, auth_sandbox.docker_ref(repository, tag), "--dest-creds", creds
        )
    sign_in(page, auth_server.url, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name=f"{group}/web").click()
    expect(page.get_by_role("link", name=repository)).to_be_visible()
    page.get_by_role("link", name=repository).click()
    rows = page.locator("#tags tbody tr[data-tag]")
    expect(rows).to_have_count(5)

    page.fill("input[name=name]", "nightly")
    page.click("#tag-filters button[type=submit]")
    expect(rows).to_have_count(2)

    page.fill("input[name=name]", "")
    page.select_option("select[name=sort]", "pushed_at")  # oldest first
    page.click("#tag-filters button[type=submit]")
    expect(rows.first).to_have_attribute("data-tag", "v1.0")
    page.select_option("select[name=sort]", "-pushed_at")
    page.click("#tag-filters button[type=submit]")
    expect(rows.first).to_have_attribute("data-tag", "nightly-2")

    page.check('input[name=tags][value="nightly-1"]')
    page.check('input[name=tags][value="nightly-2"]')
    page.click("#delete-selected")
    dialog = page.locator("dialog#confirm")
    expect(dialog).to_contain_text("Delete 2 tags: nightly-2, nightly-1? Tags cannot be restored.")
    expect(page.locator("#confirm-no")).to_be_focused()  # the safe choice is the default
    page.click("#confirm-yes")
    expect(dialog).to_be_hidden()
    expect(page.locator("#delete-status")).to_have_text("Deleted 2 tags.")
    expect(rows).to_have_count(3)  # updated in place, no reload
    expect(page.locator("#tag-total")).to_have_text("3")
    expect(page.locator("label:has(#select-all) .tag-total")).to_have_text("3")
    assert sorted(registry_tags(auth_server, repository)) == ["v1.0", "v1.1", "v2.0"]

    page.get_by_role("link", name="v2.0").click()
    expect(page.get_by_role("heading", name="Layers")).to_be_visible()
    page.get_by_text("Manifest", exact=True).click()  # the JSON is folded until asked for
    expect(page.locator("#manifest-json")).to_be_visible()
    expect(page.locator("#manifest-json")).to_contain_text("schemaVersion")


def test_a_reporter_sees_no_delete_button(
    page: Page,
    auth_server: LiveServer,
    auth_sandbox: ClientSandbox,
    image: LayoutImage,
) -> None:
    group = f"rep-{secrets.token_hex(3)}"
    auth_server.cli("group", "create", group)
    auth_server.cli("project", "create", f"{group}/app")
    repository = f"{group}/app/api"
    auth_sandbox.skopeo_copy(
        image.ref,
        auth_sandbox.docker_ref(repository, "v1"),
        "--dest-creds",
        f"admin:{ADMIN_PASSWORD}",
    )
    password = "reporter-" + secrets.token_hex(6)
    name = f"rep{secrets.token_hex(3)}"
    auth_server.cli(
        "user", "create", name, "--email", f"{name}@example.com", "--password", password
    )
    auth_server.cli("member", "add", name, f"{group}/app", "reporter")
    sign_in(page, auth_server.url, name, password)
    page.goto(f"{auth_server.url}/r/{repository}")
    expect(page.locator("#tags tbody tr[data-tag]")).to_have_count(1)
    expect(page.locator("#delete-selected")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete repository")).to_have_count(0)
    expect(page.locator('input[name="tags"]')).to_have_count(0)
    # and the server refuses even a hand-made request
    csrf = page.locator("body").get_attribute("data-csrf")
    status = page.evaluate(
        """async ([url, csrf]) => (await fetch(url, {method: 'POST', headers: {'X-CSRF-Token': csrf,
            'Content-Type': 'application/json'}, body: JSON.stringify({tags: ['v1']})})).status""",
        [
            f"/api/v1/registry/repositories/{_repository_id(auth_server, repository)}/tags/delete",
            csrf,
        ],
    )
    assert status == 403
    assert registry_tags(auth_server, repository) == ["v1"]


def test_wrong_password_and_sign_out(page: Page, auth_server: LiveServer) -> None:
    page.goto(f"{auth_server.url}/-/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "definitely-wrong")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("invalid")
    sign_in(page, auth_server.url, "admin", ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign out admin").click()
    expect(page).to_have_url(f"{auth_server.url}/-/login")
    assert page.context.request.get(f"{auth_server.url}/api/v1/user").status == 401


def _repository_id(server: LiveServer, repository: str) -> int:
    out = server.cli("token", "create", "personal", "--user", "admin", "--scope", "api")
    secret = out.split(": ", 1)[1].split()[0]
    project = "/".join(repository.split("/")[:2])
    resp = httpx.get(
        f"{server.url}/api/v1/projects/{project}/registry/repositories",
        headers={"Authorization": f"Bearer {secret}"},
    )
    return next(r["id"] for r in resp.json() if r["name"] == repository)
