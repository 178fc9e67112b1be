"""Storage limits and usage through /api/v1 with auth on: administrators set
``storage_limit_bytes`` on projects and groups with a partial PATCH (null removes it);
GET shows the limit and the usage; a push past it gets the 403 a client prints."""

from __future__ import annotations

import json
import os

import pytest

from tests.api.helpers import auth, push_image, repository_id
from tests.support.auth_registry import AuthRegistry


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


def patch(registry: AuthRegistry, path: str, body: object, secret: str):  # noqa: ANN201
    return registry.client.patch(f"/api/v1/{path}", json=body, headers=auth(secret))


def get(registry: AuthRegistry, path: str, secret: str | None = None) -> dict:
    resp = registry.client.get(f"/api/v1/{path}", headers=auth(secret or registry.admin_pat))
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_an_admin_sets_and_removes_a_project_limit(registry: AuthRegistry, project: str) -> None:
    pushed = push_image(registry, f"{project}/app", "v1", layers=[os.urandom(1000)])
    resp = patch(
        registry, f"projects/{project}", {"storage_limit_bytes": 10**9}, registry.admin_pat
    )
    assert resp.status_code == 200, resp.text
    shown = resp.json()
    assert shown["storage_limit_bytes"] == 10**9
    used = shown["storage_used_bytes"]
    config = len(json.dumps(pushed.config).encode())
    assert used == 1000 + config + len(pushed.body)  # blobs and the manifest
    assert get(registry, f"projects/{project}")["storage_limit_bytes"] == 10**9
    assert get(registry, f"projects/{project}/usage") == {
        "path": project,
        "size": used,
        "limit_bytes": 10**9,
    }
    listed = {p["path"]: p for p in get(registry, "projects")}
    assert listed[project]["storage_used_bytes"] == used
    # a PATCH of something else leaves the limit alone; null removes it
    resp = patch(registry, f"projects/{project}", {"visibility": "internal"}, registry.admin_pat)
    assert resp.json()["storage_limit_bytes"] == 10**9
    resp = patch(registry, f"projects/{project}", {"storage_limit_bytes": None}, registry.admin_pat)
    assert resp.status_code == 200 and resp.json()["storage_limit_bytes"] is None
    rid = repository_id(registry, project, f"{project}/app", registry.admin_pat)
    assert get(registry, f"registry/repositories/{rid}/usage") == {
        "path": f"{project}/app",
        "size": used,
        "limit_bytes": None,
    }


def test_only_administrators_set_limits(registry: AuthRegistry, project: str) -> None:
    group = project.split("/")[0]
    owner = registry.new_user({project: "owner", group: "owner"})
    for path in (f"projects/{project}", f"groups/{group}"):
        resp = patch(registry, path, {"storage_limit_bytes": 1}, owner.pat)
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"] == {"code": "forbidden", "message": "administrators only"}
    assert get(registry, f"projects/{project}", owner.pat)["storage_limit_bytes"] is None
    assert get(registry, f"groups/{group}", owner.pat)["storage_limit_bytes"] is None
    stranger = registry.new_user()
    resp = patch(registry, f"groups/{group}", {"storage_limit_bytes": 1}, stranger.pat)
    assert resp.status_code == 404  # a group the caller cannot see does not exist for them


@pytest.mark.parametrize("value", [-1, 2**63, "1GiB", "5", True, 1.5])
def test_a_limit_is_a_byte_count(registry: AuthRegistry, project: str, value: object) -> None:
    for path in (f"projects/{project}", f"groups/{project.split('/')[0]}"):
        resp = patch(registry, path, {"storage_limit_bytes": value}, registry.admin_pat)
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["fields"] == ["body.storage_limit_bytes"]


def test_unknown_fields_are_refused(registry: AuthRegistry, project: str) -> None:
    group = project.split("/")[0]
    resp = patch(registry, f"groups/{group}", {"storage_limit": 5}, registry.admin_pat)
    assert resp.status_code == 422


def test_group_get_and_patch(registry: AuthRegistry, project: str) -> None:
    group = project.split("/")[0]
    push_image(registry, f"{project}/app", "v1", layers=[os.urandom(500)])
    used = get(registry, f"projects/{project}")["storage_used_bytes"]
    assert get(registry, f"groups/{group}") == {
        "path": group,
        "storage_limit_bytes": None,
        "storage_used_bytes": used,
    }
    resp = patch(
        registry, f"groups/{group}", {"storage_limit_bytes": 5 * 2**30}, registry.admin_pat
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "path": group,
        "storage_limit_bytes": 5 * 2**30,
        "storage_used_bytes": used,
    }
    assert get(registry, f"groups/{group}/usage")["limit_bytes"] == 5 * 2**30
    listed = {g["path"]: g for g in get(registry, "groups")}
    assert listed[group]["storage_limit_bytes"] == 5 * 2**30
    resp = patch(registry, "groups/admin", {"storage_limit_bytes": 1}, registry.admin_pat)
    assert resp.status_code == 404  # a user's namespace takes no limit
    resp = patch(registry, "groups/no-such-group", {"storage_limit_bytes": 1}, registry.admin_pat)
    assert resp.status_code == 404
    # a group's own routes still win over the catch-all
    assert (
        registry.client.get(
            f"/api/v1/groups/{group}/members", headers=auth(registry.admin_pat)
        ).status_code
        == 200
    )


def test_a_push_past_the_limit_is_denied_with_the_usage(
    registry: AuthRegistry, project: str
) -> None:
    push_image(registry, f"{project}/app", "v1", layers=[os.urandom(2000)])
    used = get(registry, f"projects/{project}")["storage_used_bytes"]
    patch(registry, f"projects/{project}", {"storage_limit_bytes": 2048}, registry.admin_pat)
    token = registry.token("admin", registry.admin_pat, f"repository:{project}/app:pull,push")
    resp = registry.client.post(f"/v2/{project}/app/blobs/uploads/", headers=registry.bearer(token))
    assert resp.status_code == 403, resp.text
    tenths = used * 10 // 1024  # KiB with one decimal, rounded down
    shown = f"{tenths // 10}.{tenths % 10}"
    assert resp.json()["errors"][0] == {
        "code": "DENIED",
        "message": f"quota exceeded: {shown} KiB used of 2 KiB (project {project})",
        "detail": {"scope": "project", "path": project, "used_bytes": used, "limit_bytes": 2048},
    }
