"""A signed-in caller who may not do something is told why (403 DENIED); anonymous callers
and bad tokens are asked to log in (401 with the Bearer challenge)."""

from __future__ import annotations

import hashlib

import jwt
import pytest

from tests.support.auth_registry import AuthRegistry

DATA = b"some layer"
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


def start_upload(registry: AuthRegistry, repository: str, headers: dict[str, str]):
    return registry.client.post(f"/v2/{repository}/blobs/uploads/", headers=headers)


def denial(resp) -> str:
    assert resp.status_code == 403, resp.text
    error = resp.json()["errors"][0]
    assert error["code"] == "DENIED"
    return error["message"]


def test_the_token_endpoint_grants_what_it_can_instead_of_failing(
    registry: AuthRegistry, project: str
) -> None:
    user = registry.new_user({project: "reporter"})
    for scope in (f"repository:{project}/img:pull,push", "repository:nowhere/nope:pull,push"):
        resp = registry.token_response(user.name, user.pat, scope)
        assert resp.status_code == 200, resp.text
        access = jwt.decode(resp.json()["token"], options={"verify_signature": False})["access"]
        assert access == ([] if "nowhere" in scope else [
            {"type": "repository", "name": f"{project}/img", "actions": ["pull"]}
        ])  # fmt: skip
    assert (
        registry.token_response(user.name, "wrong-password", "registry:catalog:*").status_code
        == 401
    )


def test_push_without_rights_is_403_with_the_reason(registry: AuthRegistry, project: str) -> None:
    reporter = registry.new_user({project: "reporter"})
    token = registry.token(reporter.name, reporter.pat, f"repository:{project}/img:pull,push")
    message = denial(start_upload(registry, f"{project}/img", registry.bearer(token)))
    assert message == f"project {project} does not exist or you cannot push to it"


def test_a_hidden_project_looks_like_a_missing_one(registry: AuthRegistry, project: str) -> None:
    outsider = registry.new_user()
    group = project.split("/")[0]
    messages = []
    for repository in (f"{project}/img", f"{group}/nope/img"):
        token = registry.token(outsider.name, outsider.pat, f"repository:{repository}:pull,push")
        messages.append(denial(start_upload(registry, repository, registry.bearer(token))))
        pulled = registry.client.get(
            f"/v2/{repository}/manifests/v1", headers=registry.bearer(token)
        )
        assert denial(pulled) == f"project {repository} does not exist or you cannot pull from it"
    assert messages == [
        f"project {project}/img does not exist or you cannot push to it",
        f"project {group}/nope/img does not exist or you cannot push to it",
    ]


def test_basic_auth_on_v2_says_why_too(registry: AuthRegistry, project: str) -> None:
    reporter = registry.new_user({project: "reporter"})
    resp = start_upload(
        registry, f"{project}/img", registry.basic(reporter.name, reporter.password)
    )
    assert denial(resp) == f"project {project} does not exist or you cannot push to it"
    wrong = start_upload(registry, f"{project}/img", registry.basic(reporter.name, "nope-nope"))
    assert wrong.status_code == 401


def test_anonymous_callers_are_challenged(registry: AuthRegistry, project: str) -> None:
    token = registry.token(None, None, f"repository:{project}/img:pull,push")
    resp = start_upload(registry, f"{project}/img", registry.bearer(token))
    assert resp.status_code == 401, resp.text
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith("Bearer realm=") and 'error="insufficient_scope"' in challenge
    garbage = start_upload(registry, f"{project}/img", registry.bearer("not.a.token"))
    assert garbage.status_code == 401
    assert 'error="invalid_token"' in garbage.headers["www-authenticate"]


def test_a_token_for_elsewhere_is_challenged_when_the_user_may(
    registry: AuthRegistry, project: str
) -> None:
    """Clients that fetch tokens per request (oras, containerd) need the 401 to get a new one."""
    developer = registry.new_user({project: "developer"})
    token = registry.token(developer.name, developer.pat, f"repository:{project}/a:pull,push")
    resp = start_upload(registry, f"{project}/b", registry.bearer(token))
    assert resp.status_code == 401, resp.text
    assert 'error="insufficient_scope"' in resp.headers["www-authenticate"]
    assert f'scope="repository:{project}/b:pull,push"' in resp.headers["www-authenticate"]


def test_blob_head_without_pull_is_not_found_so_the_push_goes_on_to_the_reason(
    registry: AuthRegistry, project: str
) -> None:
    """containers/image checks blobs with HEAD first and would print only '403 (Forbidden)'."""
    admin = registry.token("admin", registry.admin_pat, f"repository:{project}/img:pull,push")
    pushed = registry.client.post(
        f"/v2/{project}/img/blobs/uploads/?digest={DIGEST}",
        content=DATA,
        headers=registry.bearer(admin),
    )
    assert pushed.status_code == 201
    outsider = registry.new_user()
    token = registry.token(outsider.name, outsider.pat, f"repository:{project}/img:pull,push")
    head = registry.client.head(f"/v2/{project}/img/blobs/{DIGEST}", headers=registry.bearer(token))
    assert head.status_code == 404
    get = registry.client.get(f"/v2/{project}/img/blobs/{DIGEST}", headers=registry.bearer(token))
    assert denial(get) == f"project {project}/img does not exist or you cannot pull from it"
    manifest = registry.client.head(
        f"/v2/{project}/img/manifests/v1", headers=registry.bearer(token)
    )
    assert manifest.status_code == 403
