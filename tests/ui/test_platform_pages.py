"""A multi-platform image's tag page lists each platform with its real compressed size
(not the index descriptor's few hundred bytes) and links to a page of its own, reached
by digest, with its layers and a pull-by-digest command."""

from __future__ import annotations

import json
import os

from dockyard.http.ui.pages import human_size
from tests.api.helpers import auth, push_image, push_index, repository_id
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.ui.test_pages import signed_in


def test_platforms_show_their_size_and_open(registry: AuthRegistry) -> None:
    project = registry.new_project("private")
    repository = f"{project}/multi"
    amd = push_image(registry, repository, "amd", layers=[os.urandom(3000), os.urandom(2000)])
    arm = push_image(registry, repository, "arm", layers=[os.urandom(7000)])
    push_index(registry, repository, "v1", [amd, arm], [("linux", "amd64"), ("linux", "arm64")])
    repo_id = repository_id(registry, project, repository, registry.admin_pat)
    detail = registry.client.get(
        f"/api/v1/registry/repositories/{repo_id}/tags/v1", headers=auth(registry.admin_pat)
    ).json()
    sizes = {p["digest"]: p["size"] for p in detail["platform_manifests"]}
    config_size = len(json.dumps(amd.config).encode())
    amd_size = len(amd.body) + sum(x["size"] for x in amd.layers) + config_size
    assert sizes[amd.digest] == amd_size
    assert sizes[arm.digest] > 7000

    browser = signed_in(registry, "admin", ADMIN_PASSWORD)
    page = browser.get(f"/r/{repository}/-/tags/v1").text
    link = f'href="/r/{repository}/-/manifests/{amd.digest}"'
    assert link in page and ">linux/amd64</a>" in page
    assert human_size(amd_size) in page
    assert f"docker pull testserver/{repository}@" in page  # pull by digest on a tag page

    child = browser.get(f"/r/{repository}/-/manifests/{amd.digest}")
    assert child.status_code == 200
    assert "has no tag of its own" in child.text
    assert f"docker pull testserver/{repository}@{amd.digest}" in child.text
    for layer in amd.layers:
        assert layer["digest"][7:19] in child.text
    missing = browser.get(f"/r/{repository}/-/manifests/sha256:{'0' * 64}")
    assert missing.status_code == 404
