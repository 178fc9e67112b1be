"""Storage against the limit in a real browser (Debian's Chromium driven by Playwright):
the project page and the group page show a bar and its text, and say when pushes are
refused. A live server with token auth; the limits are set with the CLI."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.integration.conftest import ADMIN_PASSWORD, LiveServer, fail_on_traceback
from tests.support.browser import sign_in

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer("dockyard", tmp_path_factory.mktemp("usage-ui"), "", auth="token")
    live.start()
    try:
        yield live
    finally:
        live.stop()
    fail_on_traceback(live.log(), "in the server behind the usage pages")


def push_blob(server: LiveServer, repository: str, data: bytes) -> None:
    token = httpx.get(
        f"{server.url}/jwt/auth",
        params={"service": "dockyard", "scope": f"repository:{repository}:pull,push"},
        auth=("admin", ADMIN_PASSWORD),
    ).json()["token"]
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    resp = httpx.post(
        f"{server.url}/v2/{repository}/blobs/uploads/?digest={digest}",
        content=data,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 201, resp.text


def test_project_and_group_pages_show_usage_against_the_limit(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    group = f"ui-{secrets.token_hex(3)}"
    server.cli("group", "create", group)
    server.cli("project", "create", f"{group}/app")
    server.cli("project", "create", f"{group}/docs")
    push_blob(server, f"{group}/app/api", os.urandom(768 * 1024))
    server.cli("project", "set-limit", f"{group}/app", "1MiB")
    server.cli("group", "set-limit", group, "512KiB")

    sign_in(page, server.url, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name=f"{group}/app").click()
    storage = page.get_by_role("region", name="Storage")
    expect(storage).to_contain_text(f"project {group}/app")
    expect(storage).to_contain_text("768 KiB used of 1 MiB (75%)")
    project_bar = storage.locator("meter").first
    expect(project_bar).to_have_attribute("max", str(1024 * 1024))
    expect(project_bar).to_have_attribute("value", str(768 * 1024))
    # the group's limit applies to pushes here too, and it is passed
    expect(storage).to_contain_text(f"group {group}")
    expect(storage).to_contain_text("768 KiB used of 512 KiB: pushes are refused")

    storage.get_by_role("link", name=f"group {group}").click()
    expect(page.get_by_role("heading", name=group)).to_be_visible()
    expect(page.get_by_role("region", name="Storage")).to_contain_text(
        "768 KiB used of 512 KiB: pushes are refused"
    )
    rows = page.locator("#projects tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=f"{group}/docs")).to_contain_text("0 B used, no limit")
    expect(rows.filter(has_text=f"{group}/app")).to_contain_text("768 KiB used of 1 MiB (75%)")

    server.cli("group", "set-limit", group, "none")
    page.goto(f"{server.url}/g/{group}")
    expect(page.get_by_role("region", name="Storage")).to_contain_text("768 KiB used, no limit")
