"""Cleanup policies through /api/v1: the policy, validation, preview, runs and their
records, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from dockyard.admin.cleanup_service import Cleanups
from dockyard.http.api.deps import Api
from tests.api.helpers import OCI_MANIFEST, auth, push_image, repository_id, tag_names
from tests.support.auth_registry import AuthRegistry
from tests.support.cleanup import age_tags, audit_details, cleanups, run

DAY = timedelta(days=1)


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


def policy_url(project: str, tail: str = "") -> str:
    return f"/api/v1/projects/{project}/registry/cleanup_policy{tail}"


def put(registry: AuthRegistry, project: str, body: dict, secret: str | None = None) -> dict:
    resp = registry.client.put(
        policy_url(project), json=body, headers=auth(secret or registry.admin_pat)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def preview(registry: AuthRegistry, project: str, body: dict | None = None) -> dict:
    resp = registry.client.post(
        policy_url(project, "/preview"), json=body, headers=auth(registry.admin_pat)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def tags_of(registry: AuthRegistry, project: str, repository: str) -> list[str]:
    rid = repository_id(registry, project, repository, registry.admin_pat)
    resp = registry.client.get(
        f"/api/v1/registry/repositories/{rid}/tags?per_page=100", headers=auth(registry.admin_pat)
    )
    return tag_names(resp)


def retag(registry: AuthRegistry, repository: str, body: bytes, tag: str) -> None:
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull,push")
    resp = registry.client.put(
        f"/v2/{repository}/manifests/{tag}",
        content=body,
        headers={**registry.bearer(token), "Content-Type": OCI_MANIFEST},
    )
    assert resp.status_code == 201, resp.text


def test_a_new_project_shows_gitlabs_defaults(registry: AuthRegistry, project: str) -> None:
    resp = registry.client.get(policy_url(project), headers=auth(registry.admin_pat))
    assert resp.status_code == 200
    assert resp.json() == {
        "enabled": False,
        "cadence": "1d",
        "keep_n": 10,
        "older_than": "90d",
        "name_regex": ".*",
        "name_regex_keep": None,
        "repository_regex": None,
        "next_run_at": None,
        "updated_at": None,
        "updated_by": None,
    }


def test_maintainers_change_the_policy_readers_see_it(registry: AuthRegistry, project: str) -> None:
    maintainer = registry.new_user({project: "maintainer"})
    developer = registry.new_user({project: "developer"})
    reporter = registry.new_user({project: "reporter"})
    outsider = registry.new_user()
    change = {"enabled": True, "cadence": "7d", "keep_n": 5, "name_regex_keep": "release-.*"}
    for who in (developer, reporter):
        refused = registry.client.put(policy_url(project), json=change, headers=auth(who.pat))
        assert refused.status_code == 403
    hidden = registry.client.get(policy_url(project), headers=auth(outsider.pat))
    assert hidden.status_code == 404
    before = datetime.now(UTC)
    saved = put(registry, project, change, maintainer.pat)
    assert saved["enabled"] and saved["cadence"] == "7d" and saved["keep_n"] == 5
    assert saved["older_than"] == "90d" and saved["name_regex"] == ".*"  # untouched
    assert saved["updated_by"] == maintainer.name
    next_run = datetime.fromisoformat(saved["next_run_at"])
    assert before + 7 * DAY <= next_run <= datetime.now(UTC) + 7 * DAY
    seen = registry.client.get(policy_url(project), headers=auth(reporter.pat)).json()
    assert seen == saved
    again = put(registry, project, {"older_than": None, "repository_regex": f"{project}/.*"})
    assert again["older_than"] is None and again["keep_n"] == 5 and again["cadence"] == "7d"
    assert again["repository_regex"] == f"{project}/.*"
    off = put(registry, project, {"enabled": False})
    assert off["next_run_at"] is None
    said = audit_details(registry, "cleanup_policy", project)
    assert len(said) == 3 and "every 7d" in said[0] and "keep_n=5" in said[0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name_regex": "v(1"}, "name_regex"),
        ({"name_regex_keep": "(?<=a)b"}, "name_regex_keep"),
        ({"repository_regex": "[z-a]"}, "repository_regex"),
        ({"name_regex": "x" * 256}, "name_regex"),
        ({"name_regex": "v\u0000"}, "name_regex"),
        ({"name_regex": "((a{100}){100}){100}"}, "name_regex"),
        ({"cadence": "2d"}, "cadence"),
        ({"cadence": "1w"}, "cadence"),
        ({"older_than": "60d"}, "older_than"),
        ({"older_than": "7"}, "older_than"),
        ({"keep_n": 0}, "keep_n"),
        ({"keep_n": "ten"}, "keep_n"),
        ({"keep_n": 10001}, "keep_n"),
        ({"enabled": "yes"}, "enabled"),
        ({"keep_last": 3}, "keep_last"),
    ],
)
def test_invalid_fields_are_refused_by_name(
    registry: AuthRegistry, project: str, body: dict, field: str
) -> None:
    for url in (policy_url(project), policy_url(project, "/preview")):
        call = registry.client.put if url.endswith("policy") else registry.client.post
        resp = call(url, json=body, headers=auth(registry.admin_pat))
        assert resp.status_code == 422, resp.text
        error = resp.json()["error"]
        assert error["fields"] == [f"body.{field}"] and field in error["message"]
    assert (
        registry.client.get(policy_url(project), headers=auth(registry.admin_pat)).json()[
            "updated_at"
        ]
        is None
    )  # nothing was saved


def test_a_bad_regex_says_why(registry: AuthRegistry, project: str) -> None:
    resp = registry.client.put(
        policy_url(project), json={"name_regex": "(unclosed"}, headers=auth(registry.admin_pat)
    )
    assert resp.status_code == 422
    assert "name_regex is not a valid RE2 expression: missing )" in resp.json()["error"]["message"]


def test_enabling_needs_a_name_regex(registry: AuthRegistry, project: str) -> None:
    resp = registry.client.put(
        policy_url(project),
        json={"enabled": True, "name_regex": None},
        headers=auth(registry.admin_pat),
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["message"].startswith("name_regex is required")


def test_preview_lists_what_would_go_per_repository(registry: AuthRegistry, project: str) -> None:
    app, tools = f"{project}/app", f"{project}/tools"
    ages = {"latest": 100, "v1": 100, "v2": 60, "v3": 20, "v4": 1, "release-1": 100}
    pushed = {name: push_image(registry, app, name, layers=[os.urandom(64)]) for name in ages}
    age_tags(registry, app, {n: d * DAY for n, d in ages.items()})
    push_image(registry, tools, "t1", layers=[b"tools"])
    age_tags(registry, tools, {"t1": 100 * DAY})
    neighbour = registry.new_project("private", group=project.split("/")[0])
    push_image(registry, f"{neighbour}/app", "v1", layers=[b"other"])
    put(registry, project, {"keep_n": 1, "older_than": "30d", "name_regex_keep": "release-.*"})

    found = preview(registry, project)
    assert found["tags_to_delete"] == 2 and found["tags_skipped"] == 0
    assert found["policy"]["keep_n"] == 1
    by_repo = {r["repository"]: r for r in found["repositories"]}
    assert set(by_repo) == {app, tools}  # the neighbouring project's images are not ours
    listed = by_repo[app]["tags"]
    assert [t["name"] for t in listed] == ["v2", "v1"]  # newest first
    assert [t["digest"] for t in listed] == [pushed["v2"].digest, pushed["v1"].digest]
    pushed_at = datetime.fromisoformat(listed[0]["pushed_at"])
    assert abs(datetime.now(UTC) - 60 * DAY - pushed_at) < timedelta(minutes=5)
    assert by_repo[app]["tag_count"] == 6 and by_repo[tools]["tags"] == []
    assert by_repo[app]["tags_to_delete"] == 2 and by_repo[app]["tags_skipped"] == 0
    short = registry.client.post(
        policy_url(project, "/preview?limit=1"), headers=auth(registry.admin_pat)
    ).json()
    (first,) = (r for r in short["repositories"] if r["repository"] == app)
    assert [t["name"] for t in first["tags"]] == ["v2"] and first["tags_to_delete"] == 2

    scoped = preview(registry, project, {"repository_regex": tools, "keep_n": None})
    assert [r["repository"] for r in scoped["repositories"]] == [tools]
    assert [t["name"] for t in scoped["repositories"][0]["tags"]] == ["t1"]
    everything = preview(registry, project, {"keep_n": None, "older_than": None})
    assert [t["name"] for t in everything["repositories"][0]["tags"]] == ["v4", "v3", "v2", "v1"]
    assert len(tags_of(registry, project, app)) == 6  # a preview deletes nothing
    unsaved = registry.client.get(policy_url(project), headers=auth(registry.admin_pat)).json()
    assert unsaved["keep_n"] == 1 and unsaved["repository_regex"] is None


def test_a_run_deletes_records_and_audits(registry: AuthRegistry, project: str) -> None:
    app = f"{project}/app"
    ages = {"latest": 100, "v1": 100, "v2": 60, "v3": 1}
    for name in ages:
        push_image(registry, app, name, layers=[os.urandom(64)])
    age_tags(registry, app, {n: d * DAY for n, d in ages.items()})
    put(registry, project, {"enabled": True, "keep_n": 1, "older_than": "30d"})
    done = run(registry, project)
    assert done.status == "done" and done.tags_deleted == 2 and done.errors == []
    assert tags_of(registry, project, app) == ["latest", "v3"]

    runs = registry.client.get(policy_url(project, "/runs"), headers=auth(registry.admin_pat))
    assert runs.status_code == 200 and runs.headers["x-total"] == "1"
    (shown,) = runs.json()
    assert shown["id"] == done.id and shown["status"] == "done" and shown["trigger"] == "manual"
    assert shown["tags_deleted"] == 2 and shown["bytes_freed"] > 0 and shown["errors"] == []
    assert shown["finished_at"] >= shown["started_at"]
    detail = registry.client.get(
        policy_url(project, f"/runs/{done.id}"), headers=auth(registry.admin_pat)
    ).json()
    assert detail["repositories"][0]["repository"] == app
    assert [t["name"] for t in detail["repositories"][0]["deleted"]] == ["v2", "v1"]
    assert detail["truncated"] is False
    (said,) = audit_details(registry, "cleanup", project)
    assert f"run {done.id} (manual, done): deleted 2 tag(s) in 1 repositories" in said
    missing = registry.client.get(
        policy_url(project, "/runs/999999"), headers=auth(registry.admin_pat)
    )
    assert missing.status_code == 404


def test_runs_are_paged_newest_first(registry: AuthRegistry, project: str) -> None:
    put(registry, project, {"name_regex": "none-such"})
    ids = [run(registry, project).id for _ in range(3)]
    first = registry.client.get(
        policy_url(project, "/runs?per_page=2"), headers=auth(registry.admin_pat)
    )
    assert [r["id"] for r in first.json()] == ids[:0:-1]
    assert first.headers["x-total"] == "3" and first.headers["x-next-page"] == "2"
    assert 'rel="next"' in first.headers["link"]
    second = registry.client.get(
        policy_url(project, "/runs?per_page=2&page=2"), headers=auth(registry.admin_pat)
    )
    assert [r["id"] for r in second.json()] == [ids[0]] and "x-next-page" not in second.headers


def test_bytes_freed_counts_only_what_no_kept_tag_uses(
    registry: AuthRegistry, project: str
) -> None:
    app, other = f"{project}/app", f"{project}/other"
    shared, unique, elsewhere, middle = (os.urandom(n) for n in (1000, 3000, 5000, 700))
    push_image(registry, app, "new", layers=[shared])
    old = push_image(registry, app, "old", layers=[shared, unique])
    retag(registry, app, old.body, "old-alias")  # one manifest, two deleted tags
    old2 = push_image(registry, app, "old2", layers=[elsewhere])
    push_image(registry, other, "keep", layers=[elsewhere])  # still used by another repo
    mid = push_image(registry, app, "mid", layers=[middle])
    retag(registry, app, mid.body, "release-mid")  # a kept tag still points at it
    age_tags(registry, app, {"new": DAY, "old": 9 * DAY, "old-alias": 9 * DAY, "old2": 9 * DAY})
    age_tags(registry, app, {"mid": 8 * DAY, "release-mid": 8 * DAY})
    put(registry, project, {"keep_n": 1, "older_than": None, "name_regex_keep": "release-.*"})
    put(registry, project, {"repository_regex": app})

    done = run(registry, project)
    assert done.tags_deleted == 4  # old, old-alias, old2, mid
    assert sorted(tags_of(registry, project, app)) == ["new", "release-mid"]

    def config_size(pushed: object) -> int:
        return len(json.dumps(pushed.config).encode())  # type: ignore[attr-defined]

    expected = len(old.body) + len(unique) + config_size(old)  # shared stays with 'new'
    expected += len(old2.body) + config_size(old2)  # its layer lives on in 'other'
    assert done.bytes_freed == expected


def test_skipped_tags_show_with_the_reason(registry: AuthRegistry, project: str) -> None:
    app = f"{project}/app"
    for name in ("v1", "v2", "dev-1"):
        push_image(registry, app, name, layers=[name.encode() + os.urandom(8)])
    age_tags(registry, app, {"v1": 50 * DAY, "v2": 40 * DAY, "dev-1": 30 * DAY})
    put(registry, project, {"keep_n": None, "older_than": "7d"})
    asked: list[tuple[str, str, str]] = []

    def guard(project_path: str, repository: str, tag: str) -> str | None:
        asked.append((project_path, repository, tag))
        return "protected by rule 'v.*'" if tag.startswith("v") else None

    service = cleanups(registry, guard)
    with swapped_cleanup(registry, service):
        found = preview(registry, project)
    (repo,) = found["repositories"]
    assert [t["name"] for t in repo["tags"]] == ["dev-1"]
    assert [(t["name"], t["reason"]) for t in repo["skipped"]] == [
        ("v2", "protected by rule 'v.*'"),
        ("v1", "protected by rule 'v.*'"),
    ]
    assert found["tags_skipped"] == 2 and (project, app, "v1") in asked
    done = run(registry, project, service)
    assert done.tags_deleted == 1 and done.tags_skipped == 2
    assert sorted(tags_of(registry, project, app)) == ["v1", "v2"]
    detail = registry.client.get(
        policy_url(project, f"/runs/{done.id}"), headers=auth(registry.admin_pat)
    ).json()
    assert {t["name"]: t["reason"] for t in detail["repositories"][0]["skipped"]} == {
        "v1": "protected by rule 'v.*'",
        "v2": "protected by rule 'v.*'",
    }


def test_a_guard_that_fails_keeps_the_tag(registry: AuthRegistry, project: str) -> None:
    push_image(registry, f"{project}/app", "v1", layers=[os.urandom(16)])
    age_tags(registry, f"{project}/app", {"v1": 100 * DAY})
    put(registry, project, {"keep_n": None})

    def broken(_project: str, _repository: str, _tag: str) -> str | None:
        raise RuntimeError("rules unavailable")

    done = run(registry, project, cleanups(registry, broken))
    assert done.tags_deleted == 0 and done.tags_skipped == 1
    assert tags_of(registry, project, f"{project}/app") == ["v1"]


def test_a_project_without_a_policy_cannot_run(registry: AuthRegistry, project: str) -> None:
    from dockyard.admin import NotFound

    with pytest.raises(NotFound, match="has no cleanup policy"):
        run(registry, project)


class swapped_cleanup:  # noqa: N801 - used as a context manager
    """Serve the API with another Cleanups (a tag guard) for the block's length."""

    def __init__(self, registry: AuthRegistry, service: Cleanups) -> None:
        self.context = api_context(registry)
        self.service = service

    def __enter__(self) -> None:
        self.saved, self.context.cleanup = self.context.cleanup, self.service

    def __exit__(self, *_: object) -> None:
        self.context.cleanup = self.saved


def api_context(registry: AuthRegistry) -> Api:
    web = registry.client.app.web  # type: ignore[attr-defined]
    mounted: Iterator = (r.app for r in web.routes if getattr(r, "path", "") == "/api/v1")
    return next(mounted).app.state.api  # the REST API, built now if not yet
