"""``delete_enabled: false`` holds on every surface: /v2, REST, the UI and cleanup
policies delete nothing, say why, and the UI shows no delete control."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from dockyard.admin.accounts import find_project
from dockyard.storage import open_store
from dockyard.workers.cleanup_job import run_now
from dockyard.workers.kinds import cleanups
from tests.api.helpers import auth, push_image, repository_id, tag_names
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.ui.test_pages import csrf_of, signed_in


@pytest.fixture(scope="module")
def frozen(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend, delete_enabled=False)


def refused(resp) -> str:  # noqa: ANN001
    assert resp.status_code == 405, resp.text
    error = resp.json()["error"]
    assert error["code"] == "deletes_disabled"
    return error["message"]


def test_rest_and_v2_delete_nothing_and_say_why(frozen: AuthRegistry) -> None:
    project = frozen.new_project("private")
    image = push_image(frozen, f"{project}/app", "v1", layers=[os.urandom(64)])
    repo_id = repository_id(frozen, project, f"{project}/app", frozen.admin_pat)
    admin = auth(frozen.admin_pat)
    base = f"/api/v1/registry/repositories/{repo_id}"

    one = frozen.client.delete(f"{base}/tags/v1", headers=admin)
    assert "delete_enabled: false" in refused(one)
    refused(frozen.client.post(f"{base}/tags/delete", json={"tags": ["v1"]}, headers=admin))
    bulk = {"name_regex_delete": ".*", "dry_run": False}
    refused(frozen.client.post(f"{base}/tags/bulk-delete", json=bulk, headers=admin))
    refused(frozen.client.delete(base, headers=admin))
    token = frozen.token("admin", frozen.admin_pat, f"repository:{project}/app:pull,push,delete")
    v2 = frozen.client.delete(
        f"/v2/{project}/app/manifests/{image.digest}", headers=frozen.bearer(token)
    )
    assert v2.status_code == 405 and v2.json()["errors"][0]["code"] == "UNSUPPORTED"

    shown = frozen.client.get(f"/api/v1/projects/{project}", headers=admin).json()
    assert "delete" not in shown["abilities"] and "push" in shown["abilities"]
    assert tag_names(frozen.client.get(f"{base}/tags", headers=admin)) == ["v1"]


def test_cleanup_policies_keep_every_tag_and_record_why(frozen: AuthRegistry) -> None:
    project = frozen.new_project("private")
    for tag in ("dev-1", "dev-2"):
        push_image(frozen, f"{project}/app", tag, layers=[os.urandom(64)])
    policy = {"enabled": True, "keep_n": None, "older_than": None, "name_regex": "dev-.*"}
    resp = frozen.client.put(
        f"/api/v1/projects/{project}/registry/cleanup_policy", json=policy,
        headers=auth(frozen.admin_pat),
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    service = cleanups(frozen.settings, frozen.db, open_store(frozen.settings))
    done = run_now(frozen.db, service, find_project(frozen.db, project), "tester")
    assert done.tags_deleted == 0 and done.tags_skipped == 2
    repo_id = repository_id(frozen, project, f"{project}/app", frozen.admin_pat)
    listed = frozen.client.get(
        f"/api/v1/registry/repositories/{repo_id}/tags", headers=auth(frozen.admin_pat)
    )
    assert sorted(tag_names(listed)) == ["dev-1", "dev-2"]


def test_the_ui_shows_no_delete_control_and_refuses_the_form(frozen: AuthRegistry) -> None:
    project = frozen.new_project("private")
    push_image(frozen, f"{project}/app", "v1", layers=[os.urandom(64)])
    browser = signed_in(frozen, "admin", ADMIN_PASSWORD)
    page = browser.get(f"/r/{project}/app")
    assert page.status_code == 200
    assert "Delete selected" not in page.text and "Delete repository" not in page.text
    forced = browser.post(
        f"/r/{project}/app/-/delete-tags",
        data={"csrf": csrf_of(page.text), "tags": "v1", "confirmed": "1"},
        follow_redirects=False,
    )
    assert forced.status_code in (403, 404)
    assert "v1" in browser.get(f"/r/{project}/app").text
