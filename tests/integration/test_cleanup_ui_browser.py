"""The cleanup policy card in a real browser (Chromium driven by Playwright) against a
live server with token auth: the live preview follows every edit, a bad pattern says
why, saving works, and a run started with the CLI shows in the history."""

from __future__ import annotations

import json
import os
import secrets

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.integration.clients import new_http, push_blob, put_manifest, tags_of
from tests.integration.conftest import ADMIN_PASSWORD, LiveServer
from tests.support.browser import sign_in

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
OCI = "application/vnd.oci.image.manifest.v1+json"


def registry_client(server: LiveServer, repository: str) -> httpx.Client:
    token = httpx.get(
        f"{server.url}/jwt/auth",
        params={"service": "dockyard", "scope": f"repository:{repository}:pull,push"},
        auth=("admin", ADMIN_PASSWORD),
    ).json()["token"]
    client = new_http(server.url)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def push(client: httpx.Client, repository: str, tag: str) -> None:
    config = push_blob(client, repository, b"{}")
    layer = os.urandom(64)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config,
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": push_blob(client, repository, layer),
                "size": len(layer),
            }
        ],
    }
    resp = put_manifest(client, repository, tag, json.dumps(manifest).encode(), OCI)
    assert resp.status_code == 201, resp.text


def test_live_preview_save_and_run_history(page: Page, auth_server: LiveServer) -> None:
    group = f"cl-{secrets.token_hex(3)}"
    project = f"{group}/web"
    repository = f"{project}/app"
    auth_server.cli("group", "create", group)
    auth_server.cli("project", "create", project)
    with registry_client(auth_server, repository) as client:
        for tag in ("v1", "v2", "v3", "v4"):  # pushed in this order: v4 is the newest
            push(client, repository, tag)

    sign_in(page, auth_server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{auth_server.url}/p/{project}/-/settings")
    card = page.locator("#cleanup")
    expect(card.get_by_role("heading", name="Cleanup policy")).to_be_visible()
    summary = page.locator("#cleanup-summary")
    expect(summary).to_contain_text("0 tag(s) would be deleted")  # defaults: 10 kept, 90 days

    page.fill("input[name=keep_n]", "1")
    page.select_option("select[name=older_than]", "")  # any age
    rows = page.locator("#cleanup-preview tr[data-tag]")
    expect(rows).to_have_count(3)  # updated as the form changes, no button pressed
    expect(rows.first).to_have_attribute("data-tag", "v3")
    page.fill("input[name=name_regex_keep]", "v1")
    expect(rows).to_have_count(2)

    page.fill("input[name=name_regex]", "v(")
    expect(page.locator("#cleanup-preview [role=alert]")).to_contain_text(
        "name_regex is not a valid RE2 expression"
    )
    page.fill("input[name=name_regex]", "v.*")
    expect(rows).to_have_count(2)
    with registry_client(auth_server, repository) as client:
        assert sorted(tags_of(client, repository)) == ["v1", "v2", "v3", "v4"]  # only a preview

    page.check("input[name=enabled]")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("status")).to_contain_text("cleanup policy saved")
    expect(page.locator("#cleanup-status")).to_contain_text("Enabled: runs every 1d")
    expect(page.locator("input[name=name_regex_keep]")).to_have_value("v1")

    auth_server.cli("cleanup", "run", project)
    with registry_client(auth_server, repository) as client:
        assert sorted(tags_of(client, repository)) == ["v1", "v4"]
    page.reload()
    history = page.locator("#cleanup-runs tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("done")
    history.first.get_by_role("link").click()
    expect(page.locator("dl.facts")).to_contain_text("Tags deleted")
    expect(page.get_by_role("cell", name="v3", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="v2", exact=True)).to_be_visible()
