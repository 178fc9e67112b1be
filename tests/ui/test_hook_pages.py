"""A project's webhooks on its page. Server side: who sees the section, the failing
mark and re-enabling it. In a real browser (Chromium via Playwright) against a live
server whose own worker loop delivers to a receiver on 127.0.0.1: add a hook, push, see
the delivery, send a test ping and redeliver."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from dockyard.admin import accounts
from dockyard.db.queries import hooks as hook_rows
from tests.api.hook_helpers import add_hook
from tests.integration.conftest import ADMIN_PASSWORD, LiveServer, fail_on_traceback
from tests.support.auth_registry import AuthRegistry
from tests.support.browser import assert_accessible, sign_in
from tests.support.receiver import receiver
from tests.ui.test_pages import csrf_of, signed_in

pytestmark = pytest.mark.timeout(300)


def test_only_maintainers_see_hooks_and_a_failing_one_can_be_re_enabled(
    backend: str, make_auth_registry
) -> None:  # noqa: ANN001
    registry: AuthRegistry = make_auth_registry(backend, webhook_allowed_hosts="127.0.0.1")
    project = registry.new_project()
    hook = add_hook(registry, project, "http://127.0.0.1:9/hook")
    developer = registry.new_user({project: "developer"})
    page = signed_in(registry, developer.name, developer.password).get(f"/p/{project}")
    assert page.status_code == 200 and "Webhooks" not in page.text
    maintainer = registry.new_user({project: "maintainer"})
    client = signed_in(registry, maintainer.name, maintainer.password)
    with registry.db.session(write=True) as conn:
        delivery = hook_rows.queue(conn, hook["id"], "push", "{}")
        hook_rows.give_up(conn, delivery, "HTTP 500")
    page = client.get(f"/p/{project}")
    assert '<span class="badge warn">failing</span>' in page.text
    assert f'data-delivery="{delivery}"' in page.text
    enabled = client.post(
        f"/p/{project}/-/hooks",
        data={"csrf": csrf_of(page.text), "action": "enable", "hook_id": str(hook["id"])},
    )
    assert f"webhook {hook['id']} enabled" in enabled.text
    assert "failing</span>" not in enabled.text
    refused = signed_in(registry, developer.name, developer.password).post(
        f"/p/{project}/-/hooks", data={"csrf": "x", "action": "test", "hook_id": "1"}
    )
    assert refused.status_code in (403, 404)


def test_a_group_page_manages_the_groups_hooks(backend: str, make_auth_registry) -> None:  # noqa: ANN001
    registry: AuthRegistry = make_auth_registry(backend, webhook_allowed_hosts="127.0.0.1")
    group = f"g{secrets.token_hex(4)}"
    accounts.create_group(registry.db, group)
    maintainer = registry.new_user({group: "maintainer"})
    client = signed_in(registry, maintainer.name, maintainer.password)
    page = client.get(f"/g/{group}")
    assert "No webhooks" in page.text and f'action="/g/{group}/-/hooks"' in page.text
    form = {
        "csrf": csrf_of(page.text),
        "action": "add",
        "url": "http://127.0.0.1:9/hook",
        "secret": "group-secret",
        "event_push": "on",
        "event_tag_delete": "on",
    }
    added = client.post(f"/g/{group}/-/hooks", data=form)
    assert "webhook" in added.text and "added" in added.text
    assert "push, tag_delete" in added.text and "group-secret" not in added.text
    refused = client.post(f"/g/{group}/-/hooks", data={**form, "url": "http://10.0.0.1/"})
    assert "not a public address" in refused.text
    reporter = registry.new_user({group: "reporter"})
    other = signed_in(registry, reporter.name, reporter.password)
    assert "Webhooks" not in other.get(f"/g/{group}").text
    assert other.post(f"/g/{group}/-/hooks", data=form).status_code == 404


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(
        "dockyard",
        tmp_path_factory.mktemp("hooks-ui"),
        "",
        auth="token",
        extra_env={"DOCKYARD_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"},
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()
    fail_on_traceback(live.log(), "in the server behind the webhook pages")


def push(server: LiveServer, repository: str, tag: str) -> None:
    token = httpx.get(
        f"{server.url}/jwt/auth",
        params={"service": "dockyard", "scope": f"repository:{repository}:pull,push"},
        auth=("admin", ADMIN_PASSWORD),
    ).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    descriptors = []
    for data in (b'{"architecture":"amd64","os":"linux"}', secrets.token_bytes(64)):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        resp = httpx.post(
            f"{server.url}/v2/{repository}/blobs/uploads/?digest={digest}",
            content=data,
            headers=bearer,
        )
        assert resp.status_code == 201, resp.text
        descriptors.append({"digest": digest, "size": len(data)})
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **descriptors[0]},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **descriptors[1]}],
    }
    resp = httpx.put(
        f"{server.url}/v2/{repository}/manifests/{tag}",
        content=json.dumps(manifest),
        headers={**bearer, "Content-Type": manifest["mediaType"]},
    )
    assert resp.status_code == 201, resp.text


def test_add_a_hook_see_deliveries_test_and_redeliver(page: Page, server: LiveServer) -> None:
    group = f"hk-{secrets.token_hex(3)}"
    server.cli("group", "create", group)
    server.cli("project", "create", f"{group}/app")
    sign_in(page, server.url, "admin", ADMIN_PASSWORD)
    with receiver() as rx:
        page.goto(f"{server.url}/p/{group}/app")
        section = page.locator("#webhooks")
        expect(section).to_contain_text("No webhooks")
        section.get_by_text("Add a webhook").click()
        section.get_by_label("URL").fill(rx.url)
        section.get_by_label("Secret").fill("browser-secret")
        section.get_by_role("button", name="Add webhook").click()
        expect(page.get_by_role("status")).to_contain_text("added")
        push(server, f"{group}/app/web", "v1")
        for _ in range(50):  # the server's worker loop delivers within a second or two
            page.reload()
            if "delivered (200)" in section.inner_text():
                break
            page.wait_for_timeout(200)
        expect(section.locator(".delivery-state").first).to_contain_text("delivered (200)")
        section.get_by_text("Add a webhook").click()  # the form open too
        assert_accessible(page)
        assert [r.headers["x-dockyard-event"] for r in rx.received] == ["push"]
        section.get_by_role("button", name="Test").click()
        expect(page.get_by_role("status")).to_contain_text("test ping queued")
        pushed = section.locator("tr[data-delivery]", has_text="push")
        pushed.get_by_role("button", name="Redeliver").click()
        expect(page.get_by_role("status")).to_contain_text("delivery queued again")
        for _ in range(50):
            if len(rx.received) >= 3:
                break
            page.wait_for_timeout(200)
    events = sorted(r.headers["x-dockyard-event"] for r in rx.received)
    assert events == ["ping", "push", "push"]
    assert len({r.headers["x-dockyard-delivery"] for r in rx.received}) == 3
