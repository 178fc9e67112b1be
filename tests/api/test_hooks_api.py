"""Webhooks through /api/v1: who may manage them, what is refused, the write-only
secret, group hooks, and the delivery log endpoints, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from dockyard.admin import accounts
from tests.api.helpers import auth
from tests.api.hook_helpers import add_hook, deliveries, hooks_url, push, worker
from tests.support.auth_registry import AuthRegistry
from tests.support.receiver import receiver


@pytest.fixture(scope="module")
def hooked(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend, webhook_allowed_hosts="127.0.0.1, 10.1.0.0/16")


def test_create_list_change_delete_and_the_secret_is_never_returned(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    made = add_hook(hooked, project, "http://127.0.0.1:9/x", events=["push", "tag_delete"])
    assert made["secret_set"] is True and "secret" not in made
    assert made["events"] == ["push", "tag_delete"] and made["enabled"] is True
    assert made["format"] == "dockyard" and made["failing"] is False
    listed = hooked.client.get(hooks_url(project), headers=auth(hooked.admin_pat)).json()
    assert [h["id"] for h in listed] == [made["id"]]
    assert "s3cret-for-tests" not in str(listed)
    resp = hooked.client.patch(
        hooks_url(project, f"/{made['id']}"),
        json={"enabled": False, "repository_regex": ".*/app"},
        headers=auth(hooked.admin_pat),
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["enabled"] is False and resp.json()["repository_regex"] == ".*/app"
    assert resp.json()["events"] == ["push", "tag_delete"]
    resp = hooked.client.delete(
        hooks_url(project, f"/{made['id']}"), headers=auth(hooked.admin_pat)
    )
    assert resp.status_code == 204
    resp = hooked.client.get(hooks_url(project, f"/{made['id']}"), headers=auth(hooked.admin_pat))
    assert resp.status_code == 404


def test_only_maintainers_and_above_manage_hooks(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    body = {"url": "http://127.0.0.1:9/x", "secret": "s", "events": ["push"]}
    for role, status in (("developer", 403), ("reporter", 403), ("maintainer", 201)):
        user = hooked.new_user({project: role})
        resp = hooked.client.post(hooks_url(project), json=body, headers=auth(user.pat))
        assert resp.status_code == status, (role, resp.text)
    outsider = hooked.new_user()
    resp = hooked.client.get(hooks_url(project), headers=auth(outsider.pat))
    assert resp.status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"events": []}, 422, "events"),
        ({"events": ["pushed"]}, 422, "events"),
        ({"repository_regex": "(a"}, 400, "RE2"),
        ({"url": "ftp://example.com/x"}, 400, "http"),
        ({"format": "xml"}, 422, "format"),
        ({"secret": ""}, 422, "secret"),
    ],
)
def test_bad_fields_are_refused_naming_them(
    hooked: AuthRegistry, change: dict, status: int, says: str
) -> None:
    project = hooked.new_project()
    body = {"url": "http://127.0.0.1:9/x", "secret": "s", "events": ["push"], **change}
    resp = hooked.client.post(hooks_url(project), json=body, headers=auth(hooked.admin_pat))
    assert resp.status_code == status, resp.text
    assert says in resp.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/hook",
        "http://[::1]/hook",
        "http://192.168.1.1/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_non_public_addresses_are_refused_at_creation(registry: AuthRegistry, url: str) -> None:
    project = registry.new_project()
    body = {"url": url, "secret": "s", "events": ["push"]}
    resp = registry.client.post(hooks_url(project), json=body, headers=auth(registry.admin_pat))
    assert resp.status_code == 400, resp.text
    message = resp.json()["error"]["message"]
    assert "not a public address" in message and "webhook_allowed_hosts" in message


def test_allowed_hosts_let_a_host_or_a_network_through(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    hook = add_hook(hooked, project, "http://127.0.0.1:8080/x")
    add_hook(hooked, project, "http://10.1.2.3/x")  # in the allowed 10.1.0.0/16
    body = {"url": "http://10.2.0.1/x", "secret": "s", "events": ["push"]}
    resp = hooked.client.post(hooks_url(project), json=body, headers=auth(hooked.admin_pat))
    assert resp.status_code == 400, resp.text
    resp = hooked.client.patch(
        hooks_url(project, f"/{hook['id']}"),
        json={"url": "http://169.254.169.254/"},
        headers=auth(hooked.admin_pat),
    )
    assert resp.status_code == 400, resp.text
    assert "169.254.169.254" in resp.json()["error"]["message"]


def test_a_group_hook_hears_projects_in_nested_groups(hooked: AuthRegistry) -> None:
    top = f"g{uuid.uuid4().hex[:8]}"
    accounts.create_group(hooked.db, top)
    accounts.create_group(hooked.db, f"{top}/team")
    project = hooked.new_project(group=f"{top}/team")
    other = hooked.new_project()
    with receiver() as rx:
        hook = add_hook(hooked, top, rx.url, kind="groups")
        push(hooked, project)
        push(hooked, other)
        assert worker(hooked).drain() == 1
    assert len(rx.received) == 1
    assert f'"project":"{project}"'.encode() in rx.received[0].body
    assert [d["state"] for d in deliveries(hooked, top, hook["id"], "groups")] == ["delivered"]


def test_repository_regex_and_events_choose_what_is_sent(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        add_hook(hooked, project, rx.url, repository_regex=".*/api")
        add_hook(hooked, project, rx.url, events=["tag_delete"])
        push(hooked, project, "web")
        push(hooked, project, "api")
        worker(hooked).drain()
    assert [r.headers["x-dockyard-event"] for r in rx.received] == ["push"]
    assert f'"repository":"{project}/api"'.encode() in rx.received[0].body


def test_ping_and_redeliver(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        hook = add_hook(hooked, project, rx.url)
        resp = hooked.client.post(
            hooks_url(project, f"/{hook['id']}/test"), headers=auth(hooked.admin_pat)
        )
        assert resp.status_code == 202, resp.text
        ping = resp.json()
        assert ping["event"] == "ping" and ping["state"] == "queued"
        worker(hooked).drain()
        resp = hooked.client.post(
            hooks_url(project, f"/{hook['id']}/deliveries/{ping['id']}/redeliver"),
            headers=auth(hooked.admin_pat),
        )
        assert resp.status_code == 202, resp.text
        again = resp.json()
        assert again["redelivery_of"] == ping["id"] and again["id"] != ping["id"]
        worker(hooked).drain()
    assert [r.headers["x-dockyard-delivery"] for r in rx.received] == [ping["id"], again["id"]]
    assert rx.received[0].body == rx.received[1].body
    log = deliveries(hooked, project, hook["id"])
    assert {d["id"] for d in log} == {ping["id"], again["id"]}
    assert all(d["status_code"] == 200 and d["attempt"] == 1 for d in log)
    assert all(d["response_body"] == "ok" and d["duration_ms"] >= 0 for d in log)
    resp = hooked.client.post(
        hooks_url(project, f"/{hook['id']}/deliveries/nope/redeliver"),
        headers=auth(hooked.admin_pat),
    )
    assert resp.status_code == 404


def test_a_disabled_hook_hears_nothing_and_a_deleted_project_takes_its_hooks(
    hooked: AuthRegistry,
) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        hook = add_hook(hooked, project, rx.url, enabled=False)
        push(hooked, project)
        assert worker(hooked).drain() == 0
        assert deliveries(hooked, project, hook["id"]) == []
    resp = hooked.client.delete(f"/api/v1/projects/{project}", headers=auth(hooked.admin_pat))
    assert resp.status_code in (202, 204), resp.text
    accounts.create_project(hooked.db, project)  # the same path again: a new project
    listed = hooked.client.get(hooks_url(project), headers=auth(hooked.admin_pat))
    assert listed.status_code == 200 and listed.json() == []
