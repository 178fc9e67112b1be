"""The events raised outside a push or delete request: a quota refusal, a finished scan
and a finished cleanup run, each delivered to a real receiver (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest

from tests.api.helpers import auth, blob, push_image
from tests.api.hook_helpers import add_hook, deliveries, push, worker
from tests.jobs.scanning import Advisories
from tests.jobs.scanning import worker as scan_worker
from tests.support.auth_registry import AuthRegistry
from tests.support.cleanup import run
from tests.support.receiver import receiver


@pytest.fixture(scope="module")
def hooked(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend, webhook_allowed_hosts="127.0.0.1")


def received(rx: object) -> list[dict]:
    return [json.loads(r.body) for r in rx.received]  # type: ignore[attr-defined]


def test_a_push_past_the_quota_raises_quota_exceeded(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        add_hook(hooked, project, rx.url, events=["quota_exceeded", "push"])
        push(hooked, project, "app", "small")
        resp = hooked.client.patch(
            f"/api/v1/projects/{project}",
            json={"storage_limit_bytes": 1000},
            headers=auth(hooked.admin_pat),
        )
        assert resp.status_code == 200, resp.text
        token = hooked.token("admin", hooked.admin_pat, f"repository:{project}/app:pull,push")
        with pytest.raises(AssertionError, match="quota exceeded"):
            blob(hooked, f"{project}/app", token, uuid.uuid4().bytes * 200)
        worker(hooked).drain()
    events = received(rx)
    assert [e["event"] for e in events] == ["push", "quota_exceeded"]
    refused = events[1]
    assert refused["repository"] == f"{project}/app"
    assert refused["detail"]["limit_bytes"] == 1000 and refused["detail"]["path"] == project


def test_a_finished_scan_raises_scan_completed(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        add_hook(hooked, project, rx.url, events=["scan_completed"])
        pushed = push_image(hooked, f"{project}/app", "v1", layers=[b"layer " + uuid.uuid4().bytes])
        scan_worker(hooked, Advisories()).drain()
        worker(hooked).drain()
    [done] = received(rx)
    assert done["event"] == "scan_completed" and done["digest"] == pushed.digest
    assert done["repository"] == f"{project}/app" and done["detail"]["packages"] >= 1


def test_a_cleanup_run_raises_cleanup_completed(hooked: AuthRegistry) -> None:
    project = hooked.new_project()
    with receiver() as rx:
        add_hook(hooked, project, rx.url, events=["cleanup_completed"])
        push(hooked, project, "app", "v1")
        resp = hooked.client.put(
            f"/api/v1/projects/{project}/registry/cleanup_policy",
            json={"enabled": True, "keep_n": 1, "older_than": None, "name_regex": ".*"},
            headers=auth(hooked.admin_pat),
        )
        assert resp.status_code == 200, resp.text
        finished = run(hooked, project)
        worker(hooked).drain()
    [done] = received(rx)
    assert done["event"] == "cleanup_completed" and done["project"] == project
    assert done["repository"] is None and done["detail"]["run_id"] == finished.id
    assert done["detail"]["status"] == "done"


def test_a_redirect_is_not_followed_but_failed(hooked: AuthRegistry) -> None:
    """The sender posts once per attempt and follows no redirect (a 302 is a failure)."""
    project = hooked.new_project()
    with receiver() as rx:
        rx.statuses = [302]
        hook = add_hook(hooked, project, rx.url)
        push(hooked, project)
        worker(hooked, lambda _n: 3600.0).drain()
    assert len(rx.received) == 1
    [logged] = deliveries(hooked, project, hook["id"])
    assert logged["status_code"] == 302 and logged["error"] == "HTTP 302"
    assert logged["state"] == "queued"  # to be retried
