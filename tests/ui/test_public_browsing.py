"""Public projects are browsable without signing in, in the UI and through the REST
API's read endpoints, as in GitLab and Harbor; private ones answer 404 (not 403) to a
visitor, exactly as what does not exist; anything that changes things needs sign-in."""

from __future__ import annotations

import os

from starlette.testclient import TestClient

from tests.api.helpers import push_image, repository_id
from tests.support.auth_registry import AuthRegistry


def test_a_visitor_browses_public_projects_only(registry: AuthRegistry) -> None:
    public = registry.new_project("public")
    private = registry.new_project("private")
    for project in (public, private):
        push_image(registry, f"{project}/app", "v1", layers=[os.urandom(64)])
    visitor = TestClient(registry.client.app)

    explore = visitor.get("/-/explore")
    assert explore.status_code == 200
    assert f'href="/p/{public}"' in explore.text and private not in explore.text
    assert "Sign in" in explore.text and "Sign out" not in explore.text
    assert "pull" in explore.text and "read" not in explore.text.split("<tbody>")[1]
    for path in (f"/p/{public}", f"/r/{public}/app", f"/r/{public}/app/-/tags/v1"):
        page = visitor.get(path)
        assert page.status_code == 200, path
        assert "Delete selected" not in page.text
    for path in (f"/p/{private}", f"/r/{private}/app", f"/r/{private}/app/-/tags/v1"):
        hidden = visitor.get(path, follow_redirects=False)
        assert hidden.status_code == 404, path
        assert "There is nothing here, or you may not see it." in hidden.text
    assert visitor.get("/", follow_redirects=False).headers["location"].startswith("/-/login")
    forced = visitor.post(f"/r/{public}/app/-/delete-tags", data={"tags": "v1"})
    assert forced.url.path == "/-/login"
    assert "Browse public projects" in visitor.get("/-/login").text


def test_the_rest_api_reads_public_projects_without_a_token(registry: AuthRegistry) -> None:
    public = registry.new_project("public")
    private = registry.new_project("private")
    for project in (public, private):
        push_image(registry, f"{project}/app", "v1", layers=[os.urandom(64)])
    visitor = TestClient(registry.client.app)
    listed = {p["path"] for p in visitor.get("/api/v1/projects").json()}
    assert public in listed and private not in listed
    shown = visitor.get(f"/api/v1/projects/{public}").json()
    assert shown["abilities"] == ["read"]
    assert visitor.get(f"/api/v1/projects/{private}").status_code == 404
    repos = visitor.get(f"/api/v1/projects/{public}/registry/repositories").json()
    repo_id = repos[0]["id"]
    tags = visitor.get(f"/api/v1/registry/repositories/{repo_id}/tags")
    assert [t["name"] for t in tags.json()] == ["v1"]
    assert visitor.get(f"/api/v1/registry/repositories/{repo_id}/tags/v1").status_code == 200
    private_id = repository_id(registry, private, f"{private}/app", registry.admin_pat)
    assert visitor.get(f"/api/v1/registry/repositories/{private_id}").status_code == 404
    assert visitor.get(f"/api/v1/registry/repositories/{private_id}/tags").status_code == 404
    assert visitor.get("/api/v1/user").status_code == 401
    assert visitor.delete(f"/api/v1/registry/repositories/{repo_id}/tags/v1").status_code == 401
    bad = visitor.get("/api/v1/projects", headers={"PRIVATE-TOKEN": "dy_pat_wrong"})
    assert bad.status_code == 401
