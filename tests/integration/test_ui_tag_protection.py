"""Protected and immutable tags in a real browser (Chromium driven by Playwright) against
a live server with token auth: an Owner adds the rules in project settings, the tag list
and the tag page show the locks, and a refused delete says why, changing nothing."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.integration.clients import ClientSandbox, ImageBuilder, LayoutImage
from tests.integration.conftest import ADMIN_PASSWORD, LiveServer
from tests.integration.test_ui_browser import registry_tags
from tests.support.browser import sign_in

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def image(auth_sandbox: ClientSandbox, tmp_path_factory: pytest.TempPathFactory) -> LayoutImage:
    return ImageBuilder(auth_sandbox, tmp_path_factory.mktemp("ui-lock-images")).single("lock")


def copy_tags(server: LiveServer, repository: str, source: str, tags: list[str]) -> None:
    """Point more tags at ``source``'s manifest straight through /v2 (faster than skopeo)."""
    token = httpx.get(
        f"{server.url}/jwt/auth",
        params={"service": "dockyard", "scope": f"repository:{repository}:pull,push"},
        auth=("admin", ADMIN_PASSWORD),
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    found = httpx.get(
        f"{server.url}/v2/{repository}/manifests/{source}", headers={**headers, **accept}
    )
    for tag in tags:
        resp = httpx.put(
            f"{server.url}/v2/{repository}/manifests/{tag}",
            content=found.content,
            headers={**headers, "Content-Type": found.headers["content-type"]},
        )
        assert resp.status_code == 201, resp.text


def add_rule(tab: Page, pattern: str, immutable: bool = False, push: str = "maintainer") -> None:
    form = tab.locator("#add-tag-rule")
    form.get_by_label("Tag name pattern").fill(pattern)
    form.get_by_label("Least role to push").select_option(push)
    if immutable:
        form.get_by_label("immutable (roles ignored)").check()
    form.get_by_role("button", name="Add rule").click()


def owned_project(
    server: LiveServer, sandbox: ClientSandbox, image: LayoutImage
) -> tuple[str, str, str, str]:
    """(project, repository, Owner, password): a fresh project, its Owner, and a
    repository with the tags v1.0, latest and nightly."""
    group = f"lock-{secrets.token_hex(3)}"
    server.cli("group", "create", group)
    project = f"{group}/web"
    server.cli("project", "create", project)
    repository = f"{project}/frontend"
    creds = f"admin:{ADMIN_PASSWORD}"
    for tag in ("v1.0", "latest", "nightly"):
        sandbox.skopeo_copy(image.ref, sandbox.docker_ref(repository, tag), "--dest-creds", creds)
    owner, password = f"own{secrets.token_hex(3)}", "owner-" + secrets.token_hex(8)
    server.cli("user", "create", owner, "--email", f"{owner}@example.com", "--password", password)
    server.cli("member", "add", owner, project, "owner")
    return project, repository, owner, password


def test_an_owner_protects_tags_and_the_ui_shows_the_locks(
    page: Page, auth_server: LiveServer, auth_sandbox: ClientSandbox, image: LayoutImage
) -> None:
    project, repository, owner, password = owned_project(auth_server, auth_sandbox, image)
    sign_in(page, auth_server.url, owner, password)
    page.goto(f"{auth_server.url}/p/{project}/-/settings")
    section = page.locator("#tag-rules")
    expect(section.get_by_role("heading", name="Protected tags")).to_be_visible()
    expect(section).to_contain_text("No tag is protected.")
    add_rule(page, "v.*", push="owner")
    expect(page.locator(".flash")).to_have_text("tags matching 'v.*' are now protected")
    add_rule(page, "latest", immutable=True)
    expect(page.locator(".flash")).to_have_text("tags matching 'latest' are now immutable")
    add_rule(page, "(bad")
    expect(page.locator(".flash")).to_contain_text("not a valid RE2 expression")
    expect(section.locator("tr[data-rule]")).to_have_count(2)

    page.goto(f"{auth_server.url}/r/{repository}")
    rows = page.locator("#tags tbody tr[data-tag]")
    expect(rows).to_have_count(3)
    locked = page.locator('tr[data-tag="v1.0"] .badge.lock')
    expect(locked).to_have_text("protected")
    expect(locked).to_have_attribute(
        "title", "owner and above may push it, maintainer and above may delete it"
    )
    expect(page.locator('tr[data-tag="latest"] .badge.lock')).to_have_text("immutable")
    expect(page.locator('tr[data-tag="nightly"] .badge.lock')).to_have_count(0)
    expect(locked.locator("svg.lock-icon")).to_have_attribute("aria-hidden", "true")

    page.check('input[name=tags][value="latest"]')
    page.check('input[name=tags][value="nightly"]')
    page.click("#delete-selected")
    page.click("#confirm-yes")
    expect(page.locator("#delete-status")).to_have_text(
        re.compile(r"^Delete failed: tag latest is immutable by rule")
    )
    expect(rows).to_have_count(3)  # nothing was deleted
    assert sorted(registry_tags(auth_server, repository)) == ["latest", "nightly", "v1.0"]

    # Rows "Load more" appends from the REST API carry the same locks.
    copy_tags(auth_server, repository, "nightly", [f"extra-{n:02}" for n in range(10)])
    page.goto(f"{auth_server.url}/r/{repository}?sort=name&per_page=10")
    expect(rows).to_have_count(10)
    page.click("#load-more")
    expect(rows).to_have_count(13)
    expect(page.locator('tr[data-tag="v1.0"] .badge.lock')).to_have_text("protected")
    expect(page.locator('tr[data-tag="latest"] .badge.lock')).to_have_text("immutable")
    expect(page.locator('tr[data-tag="nightly"] .badge.lock')).to_have_count(0)

    page.get_by_role("link", name="latest", exact=True).click()
    expect(page.locator("#tag-protection")).to_contain_text(
        "immutable no one may move or delete this tag"
    )
