"""Repositories and tags through /api/v1: listings, sorting, paging, details, deletes."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from dockyard.db.models import Repository, Tag
from dockyard.workers.runner import delete_due_repositories
from tests.api.helpers import auth, push_image, push_index, repository_id, tag_names
from tests.support.auth_registry import AuthRegistry


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


def age_tags(registry: AuthRegistry, repository: str, ages: dict[str, timedelta]) -> None:
    """Pretend tags were pushed some time ago (cleanup rules look at push time)."""
    now = datetime.now(UTC)
    with registry.db.session(write=True) as conn:
        repo_id = conn.scalar(
            Repository.__table__.select()
            .with_only_columns(Repository.id)
            .where(Repository.name == repository)
        )
        for name, age in ages.items():
            conn.execute(
                update(Tag)
                .where(Tag.repository_id == repo_id, Tag.name == name)
                .values(updated_at=now - age)
            )


def test_repositories_of_a_project(registry: AuthRegistry, project: str) -> None:
    shared = os.urandom(300)
    api_v1 = push_image(registry, f"{project}/api", "v1", layers=[shared, os.urandom(100)])
    api_v2 = push_image(registry, f"{project}/api", "v2", layers=[shared])
    web_v1 = push_image(registry, f"{project}/web", "v1", layers=[shared])
    resp = registry.client.get(
        f"/api/v1/projects/{project}/registry/repositories", headers=auth(registry.admin_pat)
    )
    rows = {r["name"]: r for r in resp.json()}
    assert set(rows) == {f"{project}/api", f"{project}/web"}
    api = rows[f"{project}/api"]
    assert api["tag_count"] == 2 and api["status"] is None
    assert api["last_pushed_at"] is not None
    assert api["location"].endswith(f"/{project}/api")
    usage = registry.client.get(
        f"/api/v1/projects/{project}/usage", headers=auth(registry.admin_pat)
    ).json()["size"]
    # sizes count blobs and manifests; the shared layer (300 bytes) counts once across
    # both repositories, and so does the config both v1 images use
    config_v1, config_v2 = (len(json.dumps(p.config).encode()) for p in (api_v1, api_v2))
    web = rows[f"{project}/web"]
    assert web["size"] == 300 + config_v1 + len(web_v1.body)
    assert api["size"] == 400 + config_v1 + config_v2 + len(api_v1.body) + len(api_v2.body)
    assert usage == api["size"] + web["size"] - 300 - config_v1
    filtered = registry.client.get(
        f"/api/v1/projects/{project}/registry/repositories?name=we",
        headers=auth(registry.admin_pat),
    ).json()
    assert [r["name"] for r in filtered] == [f"{project}/web"]
    group = project.split("/")[0]
    in_group = registry.client.get(
        f"/api/v1/groups/{group}/registry/repositories", headers=auth(registry.admin_pat)
    ).json()
    assert {r["name"] for r in in_group} == set(rows)


def test_tag_listing_filters_sorts_and_pages(registry: AuthRegistry, project: str) -> None:
    repository = f"{project}/app"
    names = [f"v1.{i}" for i in range(7)] + ["latest", "dev"]
    for name in names:
        push_image(registry, repository, name, layers=[name.encode()])
    age_tags(registry, repository, {n: timedelta(hours=i) for i, n in enumerate(names)})
    rid = repository_id(registry, project, repository, registry.admin_pat)
    base = f"/api/v1/registry/repositories/{rid}/tags"
    headers = auth(registry.admin_pat)
    assert tag_names(registry.client.get(base, headers=headers)) == sorted(names)
    assert tag_names(registry.client.get(f"{base}?sort=-name", headers=headers)) == sorted(
        names, reverse=True
    )
    newest_first = tag_names(registry.client.get(f"{base}?sort=-pushed_at", headers=headers))
    assert newest_first == names  # names[0] was pushed most recently
    assert (
        tag_names(registry.client.get(f"{base}?sort=pushed_at", headers=headers)) == (names[::-1])
    )
    assert tag_names(registry.client.get(f"{base}?name=v1.", headers=headers)) == names[:7]
    page = registry.client.get(f"{base}?per_page=4&page=2", headers=headers)
    assert tag_names(page) == sorted(names)[4:8]
    assert page.headers["x-total"] == "9" and page.headers["x-total-pages"] == "3"
    assert page.headers["x-next-page"] == "3" and 'rel="next"' in page.headers["link"]
    seen, url = [], f"{base}?pagination=keyset&per_page=4&sort=-pushed_at"
    for _ in range(5):
        resp = registry.client.get(url, headers=headers)
        seen += tag_names(resp)
        link = resp.headers.get("link")
        if not link:
            break
        url = link.split(";")[0].strip("<>").replace("http://testserver", "")
    assert seen == names
    bad = registry.client.get(f"{base}?pagination=keyset&last=nonsense!", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_tag_details(registry: AuthRegistry, project: str) -> None:
    repository = f"{project}/detail"
    image = push_image(registry, repository, "v1", layers=[os.urandom(50), os.urandom(70)])
    arm = push_image(registry, repository, "arm", layers=[os.urandom(40)])
    push_index(
        registry, repository, "multi", [image, arm], [("linux", "amd64"), ("linux", "arm64")]
    )
    push_image(
        registry,
        repository,
        "sig",
        layers=[b"signature"],
        subject={
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": image.digest,
            "size": len(image.body),
        },
        artifact_type="application/vnd.dev.cosign.artifact.sig.v1+json",
    )
    rid = repository_id(registry, project, repository, registry.admin_pat)
    headers = auth(registry.admin_pat)
    detail = registry.client.get(
        f"/api/v1/registry/repositories/{rid}/tags/v1", headers=headers
    ).json()
    assert detail["digest"] == image.digest
    assert detail["config"]["config"]["Env"] == ["PATH=/usr/bin"]
    assert detail["config"]["history"][0]["created_by"] == "COPY app /app"
    assert [layer["size"] for layer in detail["layers"]] == [50, 70]
    config_size = len(json.dumps(image.config).encode())
    assert detail["size"] == len(image.body) + 50 + 70 + config_size
    assert detail["referrer_count"] == 1
    assert detail["referrers"][0]["artifact_type"].startswith("application/vnd.dev.cosign")
    multi = registry.client.get(
        f"/api/v1/registry/repositories/{rid}/tags/multi", headers=headers
    ).json()
    assert multi["platforms"] == ["linux/amd64", "linux/arm64"]
    assert [m["architecture"] for m in multi["platform_manifests"]] == ["amd64", "arm64"]
    missing = registry.client.get(f"/api/v1/registry/repositories/{rid}/tags/nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_delete_one_tag_and_a_selection(registry: AuthRegistry, project: str) -> None:
    repository = f"{project}/del"
    for name in ("a", "b", "c", "d"):
        push_image(registry, repository, name, layers=[name.encode() * 3])
    rid = repository_id(registry, project, repository, registry.admin_pat)
    headers = auth(registry.admin_pat)
    assert (
        registry.client.delete(
            f"/api/v1/registry/repositories/{rid}/tags/a", headers=headers
        ).status_code
        == 204
    )
    resp = registry.client.post(
        f"/api/v1/registry/repositories/{rid}/tags/delete",
        json={"tags": ["b", "c"]},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull")
    listed = registry.client.get(f"/v2/{repository}/tags/list", headers=registry.bearer(token))
    assert listed.json()["tags"] == ["d"]


def test_bulk_delete_rules_and_dry_run(registry: AuthRegistry, project: str) -> None:
    repository = f"{project}/bulk"
    ages = {
        "latest": 40,
        "v1": 30,
        "v2": 20,
        "v3": 10,
        "v4": 5,
        "keep-me": 50,
        "dev-1": 45,
        "v5": 1,
    }
    for name in ages:
        push_image(registry, repository, name, layers=[name.encode()])
    age_tags(registry, repository, {n: timedelta(days=d) for n, d in ages.items()})
    rid = repository_id(registry, project, repository, registry.admin_pat)
    url = f"/api/v1/registry/repositories/{rid}/tags/bulk-delete"
    headers = auth(registry.admin_pat)
    rules = {
        "name_regex_delete": ".*",
        "name_regex_keep": "keep-.*|dev-.*",
        "keep_n": 2,
        "older_than": "7d",
        "dry_run": True,
    }
    dry = registry.client.post(url, json=rules, headers=headers).json()
    # newest two of the candidates (v5, v4) are kept; of the rest only those older than 7d go
    assert dry == {"tags": ["v3", "v2", "v1"], "dry_run": True}
    assert (
        len(
            tag_names(
                registry.client.get(
                    f"/api/v1/registry/repositories/{rid}/tags?per_page=100", headers=headers
                )
            )
        )
        == 8
    )
    done = registry.client.post(url, json={**rules, "dry_run": False}, headers=headers).json()
    assert done["tags"] == ["v3", "v2", "v1"]
    left = tag_names(
        registry.client.get(f"/api/v1/registry/repositories/{rid}/tags", headers=headers)
    )
    assert left == ["dev-1", "keep-me", "latest", "v4", "v5"]
    everything = registry.client.post(
        url, json={"name_regex_delete": ".*"}, headers=headers
    ).json()["tags"]
    assert "latest" not in everything
    anchored = registry.client.post(
        url, json={"name_regex_delete": "v", "dry_run": True}, headers=headers
    ).json()
    assert anchored["tags"] == []  # patterns match whole names only
    bad = registry.client.post(url, json={"name_regex_delete": "(unclosed"}, headers=headers)
    assert bad.status_code == 400 and "RE2" in bad.json()["error"]["message"]
    bad_age = registry.client.post(
        url, json={"name_regex_delete": ".*", "older_than": "soon"}, headers=headers
    )
    assert bad_age.status_code == 400


def test_repository_deletion_is_scheduled_then_carried_out(
    registry: AuthRegistry, project: str
) -> None:
    repository = f"{project}/doomed"
    push_image(registry, repository, "v1", layers=[b"doomed"])
    rid = repository_id(registry, project, repository, registry.admin_pat)
    headers = auth(registry.admin_pat)
    resp = registry.client.delete(f"/api/v1/registry/repositories/{rid}", headers=headers)
    assert resp.status_code == 202 and resp.json()["status"] == "delete_scheduled"
    listed = registry.client.get(
        f"/api/v1/projects/{project}/registry/repositories", headers=headers
    ).json()
    assert [r["status"] for r in listed if r["name"] == repository] == ["delete_scheduled"]
    assert delete_due_repositories(registry.db) >= 1
    gone = registry.client.get(f"/api/v1/registry/repositories/{rid}", headers=headers)
    assert gone.status_code == 404
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull")
    tags = registry.client.get(f"/v2/{repository}/tags/list", headers=registry.bearer(token))
    assert tags.status_code == 404
