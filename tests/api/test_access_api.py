"""Who may do what through /api/v1: the same table as the registry, no back doors."""

from __future__ import annotations

import pytest

from dockyard.admin import tokens as admin_tokens
from tests.api.helpers import auth, push_image, repository_id
from tests.support.auth_registry import AuthRegistry


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


def error_code(resp) -> str:
    return resp.json()["error"]["code"]


def test_credentials(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user({project: "developer"})
    assert registry.client.get("/api/v1/user").status_code == 401
    assert registry.client.get("/api/v1/user", headers=auth("dy_pat_nope")).status_code == 401
    me = registry.client.get("/api/v1/user", headers={"PRIVATE-TOKEN": user.pat})
    assert me.status_code == 200 and me.json()["username"] == user.name
    read_only = admin_tokens.create_personal(registry.db, user.name, "ro", ["read_registry"])
    refused = registry.client.get("/api/v1/user", headers=auth(read_only.secret))
    assert refused.status_code == 403 and "api" in refused.json()["error"]["message"]


def test_deploy_tokens_cannot_use_the_rest_api(registry: AuthRegistry, project: str) -> None:
    push_image(registry, f"{project}/img", "v1", layers=[b"x"])
    deploy = admin_tokens.create_deploy(
        registry.db, project, "d", ["read_registry", "write_registry"]
    )
    rid = repository_id(registry, project, f"{project}/img", registry.admin_pat)
    resp = registry.client.delete(
        f"/api/v1/registry/repositories/{rid}/tags/v1", headers=auth(deploy.secret)
    )
    assert resp.status_code == 403


def test_reporters_see_but_cannot_delete(registry: AuthRegistry, project: str) -> None:
    push_image(registry, f"{project}/img", "v1", layers=[b"y"])
    reporter = registry.new_user({project: "reporter"})
    developer = registry.new_user({project: "developer"})
    outsider = registry.new_user()
    rid = repository_id(registry, project, f"{project}/img", reporter.pat)
    tags = f"/api/v1/registry/repositories/{rid}/tags"
    assert registry.client.get(tags, headers=auth(reporter.pat)).status_code == 200
    for who in (reporter, developer):  # delete needs Maintainer, everywhere
        assert registry.client.delete(f"{tags}/v1", headers=auth(who.pat)).status_code == 403
        bulk = registry.client.post(
            f"{tags}/bulk-delete", json={"name_regex_delete": ".*"}, headers=auth(who.pat)
        )
        assert bulk.status_code == 403
        repo = registry.client.delete(f"/api/v1/registry/repositories/{rid}", headers=auth(who.pat))
        assert repo.status_code == 403
    hidden = registry.client.get(tags, headers=auth(outsider.pat))
    assert hidden.status_code == 404 and error_code(hidden) == "not_found"
    maintainer = registry.new_user({project: "maintainer"})
    assert registry.client.delete(f"{tags}/v1", headers=auth(maintainer.pat)).status_code == 204


def test_members(registry: AuthRegistry, project: str) -> None:
    developer = registry.new_user({project: "developer"})
    maintainer = registry.new_user({project: "maintainer"})
    newcomer = registry.new_user()
    url = f"/api/v1/projects/{project}/members"
    body = {"username": newcomer.name, "role": "reporter"}
    assert registry.client.post(url, json=body, headers=auth(developer.pat)).status_code == 403
    added = registry.client.post(url, json=body, headers=auth(maintainer.pat))
    assert added.status_code == 201
    members = registry.client.get(url, headers=auth(developer.pat)).json()
    assert {"username": newcomer.name, "role": "reporter"} in members
    owner = registry.client.put(
        f"{url}/{newcomer.name}", json={"role": "owner"}, headers=auth(maintainer.pat)
    )
    assert owner.status_code == 403  # only owners make owners
    promoted = registry.client.put(
        f"{url}/{newcomer.name}", json={"role": "developer"}, headers=auth(maintainer.pat)
    )
    assert promoted.status_code == 200
    gone = registry.client.delete(f"{url}/{newcomer.name}", headers=auth(maintainer.pat))
    assert gone.status_code == 204
    bad = registry.client.post(
        url, json={"username": newcomer.name, "role": "god"}, headers=auth(maintainer.pat)
    )
    assert bad.status_code == 422 and error_code(bad) == "invalid"


def test_projects_and_groups(registry: AuthRegistry) -> None:
    alice = registry.new_user()
    group = f"team{alice.name[-6:]}"
    created = registry.client.post("/api/v1/groups", json={"path": group}, headers=auth(alice.pat))
    assert created.status_code == 201
    project = registry.client.post(
        "/api/v1/projects", json={"path": f"{group}/api"}, headers=auth(alice.pat)
    )
    assert project.status_code == 201 and project.json()["visibility"] == "private"
    mine = registry.client.post(
        "/api/v1/projects", json={"path": f"{alice.name}/tools"}, headers=auth(alice.pat)
    )
    assert mine.status_code == 201
    bob = registry.new_user()
    assert (
        registry.client.post(
            "/api/v1/projects", json={"path": f"{group}/bob"}, headers=auth(bob.pat)
        ).status_code
        == 404
    )
    listed = {
        p["path"] for p in registry.client.get("/api/v1/projects", headers=auth(alice.pat)).json()
    }
    assert {f"{group}/api", f"{alice.name}/tools"} <= listed
    assert f"{group}/api" not in {
        p["path"] for p in registry.client.get("/api/v1/projects", headers=auth(bob.pat)).json()
    }
    public = registry.client.patch(
        f"/api/v1/projects/{group}/api", json={"visibility": "public"}, headers=auth(alice.pat)
    )
    assert public.status_code == 200 and public.json()["visibility"] == "public"
    seen = registry.client.get(f"/api/v1/projects/{group}/api", headers=auth(bob.pat))
    assert seen.status_code == 200 and "admin" not in seen.json()["abilities"]
    assert (
        registry.client.patch(
            f"/api/v1/projects/{group}/api", json={"visibility": "private"}, headers=auth(bob.pat)
        ).status_code
        == 403
    )
    assert (
        registry.client.delete(f"/api/v1/projects/{group}/api", headers=auth(alice.pat)).status_code
        == 204
    )
    assert (
        registry.client.get(f"/api/v1/projects/{group}/api", headers=auth(alice.pat)).status_code
        == 404
    )


def test_tokens_through_the_api(registry: AuthRegistry, project: str) -> None:
    maintainer = registry.new_user({project: "maintainer"})
    developer = registry.new_user({project: "developer"})
    created = registry.client.post(
        "/api/v1/user/tokens",
        json={"name": "laptop", "scopes": ["read_registry", "write_registry"]},
        headers=auth(maintainer.pat),
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("dy_pat_")
    for name, status in (("n" * 100, 201), ("n" * 101, 422)):  # names are labels, not essays
        sized = registry.client.post(
            "/api/v1/user/tokens",
            json={"name": name, "scopes": ["read_registry"]},
            headers=auth(maintainer.pat),
        )
        assert sized.status_code == status, sized.text
    listed = registry.client.get("/api/v1/user/tokens", headers=auth(maintainer.pat)).json()
    assert all("token" not in t for t in listed)
    assert registry.token_response(maintainer.name, secret).status_code == 200
    token_id = created.json()["id"]
    assert (
        registry.client.delete(
            f"/api/v1/user/tokens/{token_id}", headers=auth(developer.pat)
        ).status_code
        == 403
    )
    assert (
        registry.client.delete(
            f"/api/v1/user/tokens/{token_id}", headers=auth(maintainer.pat)
        ).status_code
        == 204
    )
    assert registry.token_response(maintainer.name, secret).status_code == 401
    deploy_url = f"/api/v1/projects/{project}/deploy_tokens"
    body = {"name": "k8s", "scopes": ["read_registry"]}
    assert (
        registry.client.post(deploy_url, json=body, headers=auth(developer.pat)).status_code == 403
    )
    deploy = registry.client.post(deploy_url, json=body, headers=auth(maintainer.pat))
    assert deploy.status_code == 201 and deploy.json()["token"].startswith("dy_deploy_")
    job = registry.client.post(
        f"/api/v1/projects/{project}/job_tokens",
        json={"ttl_seconds": 600},
        headers=auth(developer.pat),
    )
    assert job.status_code == 201 and job.json()["username"] == "dockyard-ci-token"
    assert (
        registry.client.get(
            f"/api/v1/projects/{project}/registry/repositories",
            headers={"JOB-TOKEN": job.json()["token"]},
        ).status_code
        == 200
    )
    listed = registry.client.get(
        f"/api/v1/projects/{project}/job_tokens", headers=auth(maintainer.pat)
    ).json()
    assert [t["id"] for t in listed] == [job.json()["id"]] and "token" not in listed[0]
    assert (
        registry.client.get(
            f"/api/v1/projects/{project}/job_tokens", headers=auth(developer.pat)
        ).status_code
        == 403
    )
    elsewhere = registry.new_project("public")
    assert (
        registry.client.get(
            f"/api/v1/projects/{elsewhere}/registry/repositories",
            headers={"JOB-TOKEN": job.json()["token"]},
        ).status_code
        == 404  # like an outsider: a job token sees its own project only
    )


def test_a_job_token_sees_only_its_own_project(registry: AuthRegistry) -> None:
    own = registry.new_project()
    group = own.split("/")[0]
    other, public = registry.new_project(group=group), registry.new_project("public")
    developer = registry.new_user({own: "developer", other: "developer"})
    push_image(registry, f"{other}/img", "v1", layers=[b"other project's layer"])
    job = admin_tokens.create_job(registry.db, own, developer.name, 600).secret
    headers = {"JOB-TOKEN": job}
    other_id = repository_id(registry, other, f"{other}/img", developer.pat)
    listed = registry.client.get("/api/v1/projects", headers=headers)
    assert [p["path"] for p in listed.json()] == [own]
    mine = registry.client.get("/api/v1/projects", headers=auth(developer.pat)).json()
    assert {own, other, public} <= {p["path"] for p in mine}  # the person sees more
    for path in (
        f"/api/v1/projects/{other}/members",
        f"/api/v1/projects/{public}/registry/repositories",
        f"/api/v1/projects/{group}/nope/members",
        f"/api/v1/groups/{group}/registry/repositories",
        f"/api/v1/registry/repositories/{other_id}",
    ):
        resp = registry.client.get(path, headers=headers)
        assert resp.status_code == 404, (path, resp.text)
    own_members = registry.client.get(f"/api/v1/projects/{own}/members", headers=headers)
    assert own_members.status_code == 200


def test_users_are_for_admins(registry: AuthRegistry) -> None:
    user = registry.new_user()
    assert registry.client.get("/api/v1/users", headers=auth(user.pat)).status_code == 403
    created = registry.client.post(
        "/api/v1/users",
        json={"username": f"n{user.name}", "email": "n@example.com", "password": "long-enough-pw"},
        headers=auth(registry.admin_pat),
    )
    assert created.status_code == 201
    blocked = registry.client.patch(
        f"/api/v1/users/n{user.name}", json={"is_blocked": True}, headers=auth(registry.admin_pat)
    )
    assert blocked.status_code == 200 and blocked.json()["is_blocked"]
    assert registry.token_response(f"n{user.name}", "long-enough-pw").status_code == 403
    dup = registry.client.post(
        "/api/v1/users",
        json={"username": f"n{user.name}", "email": "n@example.com", "password": "long-enough-pw"},
        headers=auth(registry.admin_pat),
    )
    assert dup.status_code == 400 and error_code(dup) == "invalid"


def test_the_docs_page_needs_nothing_from_the_internet(registry: AuthRegistry) -> None:
    page = registry.client.get("/api/v1/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/registry/repositories/{repository_id}/tags" in page.text
    assert "<script" not in page.text and "https://" not in page.text  # nothing from a CDN
    schema = registry.client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "Dockyard API"


def test_an_admin_cannot_block_or_demote_themselves_through_the_api(
    registry: AuthRegistry,
) -> None:
    other = registry.new_user(admin=True)  # another admin exists: only the self rule refuses
    for change in ({"is_blocked": True}, {"is_admin": False}):
        refused = registry.client.patch(
            f"/api/v1/users/{other.name}", json=change, headers=auth(other.pat)
        )
        assert refused.status_code == 403 and error_code(refused) == "forbidden", refused.text
        assert "ask another administrator" in refused.json()["error"]["message"]
    demoted = registry.client.patch(
        f"/api/v1/users/{other.name}", json={"is_admin": False}, headers=auth(registry.admin_pat)
    )
    assert demoted.status_code == 200 and not demoted.json()["is_admin"]
