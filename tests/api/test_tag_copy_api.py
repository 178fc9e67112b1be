"""POST /api/v1/registry/repositories/{id}/tags/{tag}/copy: promotion by reference. The
target serves the same bytes under the same digest; an index brings its children, and
referrers come when asked; pull on the source and push on the target are both needed,
and the target's tag protection and quota apply."""

from __future__ import annotations

import json
import os

import pytest

from tests.api.helpers import auth, push_image, push_index, repository_id
from tests.api.hook_helpers import add_hook, worker
from tests.support.auth_registry import AuthRegistry
from tests.support.receiver import receiver
from tests.support.tag_protection import SIGNATURE, protect

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def source(registry: AuthRegistry) -> str:
    return registry.new_project("private")


@pytest.fixture
def target(registry: AuthRegistry, source: str) -> str:
    return registry.new_project("private", group=source.split("/")[0])


def copy(registry: AuthRegistry, repo_id: int, tag: str, secret: str, **body: object):  # noqa: ANN201
    return registry.client.post(
        f"/api/v1/registry/repositories/{repo_id}/tags/{tag}/copy", json=body, headers=auth(secret)
    )


def pull(registry: AuthRegistry, repository: str, reference: str) -> tuple[int, bytes, str]:
    """(status, body, digest header) of a manifest GET with a pull-only token."""
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull")
    resp = registry.client.get(
        f"/v2/{repository}/manifests/{reference}",
        headers={**registry.bearer(token), "Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"},
    )
    return resp.status_code, resp.content, resp.headers.get("docker-content-digest", "")


def blob_status(registry: AuthRegistry, repository: str, digest: str) -> int:
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull")
    return registry.client.get(
        f"/v2/{repository}/blobs/{digest}", headers=registry.bearer(token)
    ).status_code


def test_a_copied_tag_serves_the_same_image_from_the_target(
    registry: AuthRegistry, source: str, target: str
) -> None:
    image = push_image(registry, f"{source}/app", "rc-1", layers=[os.urandom(2000)])
    repo_id = repository_id(registry, source, f"{source}/app", registry.admin_pat)

    resp = copy(registry, repo_id, "rc-1", registry.admin_pat, target=f"{target}/app:1.0")
    assert resp.status_code == 201, resp.text
    done = resp.json()
    assert done["source"] == f"{source}/app:rc-1"
    assert done["target"] == f"{target}/app:1.0"
    assert done["digest"] == image.digest
    assert (done["manifests"], done["blobs"]) == (1, 2)  # config and one layer
    assert done["pull"].endswith(f"/{target}/app@{image.digest}")

    assert pull(registry, f"{target}/app", "1.0") == (200, image.body, image.digest)
    for layer in image.layers:
        assert blob_status(registry, f"{target}/app", layer["digest"]) == 200
    assert pull(registry, f"{source}/app", "rc-1")[0] == 200  # the source keeps its tag

    # without ":tag" the target keeps the source tag's name
    again = copy(registry, repo_id, "rc-1", registry.admin_pat, target=f"{target}/app")
    assert again.status_code == 201 and again.json()["target"] == f"{target}/app:rc-1"


def test_an_index_brings_its_children_and_referrers_only_when_asked(
    registry: AuthRegistry, source: str, target: str
) -> None:
    repository = f"{source}/multi"
    amd = push_image(registry, repository, "amd", layers=[os.urandom(500)])
    arm = push_image(registry, repository, "arm", layers=[os.urandom(500)])
    platforms = [("linux", "amd64"), ("linux", "arm64")]
    index = push_index(registry, repository, "v2", [amd, arm], platforms)
    _, index_body, _ = pull(registry, repository, "v2")
    signature = push_image(
        registry,
        repository,
        "sig",
        layers=[b"signature"],
        subject={"mediaType": OCI_INDEX, "digest": index, "size": len(index_body)},
        artifact_type=SIGNATURE,
    )
    repo_id = repository_id(registry, source, repository, registry.admin_pat)

    plain = copy(registry, repo_id, "v2", registry.admin_pat, target=f"{target}/plain:v2")
    assert plain.status_code == 201, plain.text
    assert plain.json()["manifests"] == 3
    assert pull(registry, f"{target}/plain", amd.digest)[2] == amd.digest
    assert pull(registry, f"{target}/plain", arm.digest)[2] == arm.digest
    assert referrers(registry, f"{target}/plain", index) == []

    signed = copy(
        registry, repo_id, "v2", registry.admin_pat, target=f"{target}/signed:v2", referrers=True
    )
    assert signed.status_code == 201, signed.text
    assert signed.json()["manifests"] == 4
    assert referrers(registry, f"{target}/signed", index) == [signature.digest]
    assert pull(registry, f"{target}/signed", "v2")[1:] == (index_body, index)


def referrers(registry: AuthRegistry, repository: str, digest: str) -> list[str]:
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull")
    url = f"/v2/{repository}/referrers/{digest}"
    resp = registry.client.get(url, headers=registry.bearer(token))
    assert resp.status_code == 200, resp.text
    return [m["digest"] for m in resp.json()["manifests"]]


def test_pull_on_the_source_and_push_on_the_target_are_both_needed(
    registry: AuthRegistry, source: str, target: str
) -> None:
    push_image(registry, f"{source}/app", "v1", layers=[os.urandom(300)])
    repo_id = repository_id(registry, source, f"{source}/app", registry.admin_pat)
    to = {"target": f"{target}/app:v1"}

    reader_both = registry.new_user({source: "reporter", target: "reporter"})
    refused = copy(registry, repo_id, "v1", reader_both.pat, **to)
    assert refused.status_code == 403, refused.text
    assert f"you may not push in {target}" in refused.json()["error"]["message"]

    stranger = registry.new_user({target: "developer"})
    assert copy(registry, repo_id, "v1", stranger.pat, **to).status_code == 404  # source hidden

    outsider = registry.new_user({source: "reporter"})
    hidden = copy(registry, repo_id, "v1", outsider.pat, **to)
    assert hidden.status_code == 404 and "no project" in hidden.json()["error"]["message"]

    releaser = registry.new_user({source: "reporter", target: "developer"})
    assert copy(registry, repo_id, "v1", releaser.pat, **to).status_code == 201
    assert pull(registry, f"{target}/app", "v1")[0] == 200


def test_refusals_say_why_and_copy_nothing(
    registry: AuthRegistry, source: str, target: str
) -> None:
    image = push_image(registry, f"{source}/app", "v1", layers=[os.urandom(300)])
    repo_id = repository_id(registry, source, f"{source}/app", registry.admin_pat)
    admin = registry.admin_pat

    missing_tag = copy(registry, repo_id, "nope", admin, target=f"{target}/app:v1")
    assert missing_tag.status_code == 404
    bad_name = copy(registry, repo_id, "v1", admin, target=f"{target}/App:v1")
    assert bad_name.status_code == 400 and "target" in bad_name.json()["error"]["message"]
    nowhere = copy(registry, repo_id, "v1", admin, target="no-such-group/none/app:v1")
    assert nowhere.status_code == 404
    assert "create the project first" in nowhere.json()["error"]["message"]

    protect(registry, target, tag_name_pattern="v1", immutable=True)
    first = copy(registry, repo_id, "v1", admin, target=f"{target}/app:v1")
    assert first.status_code == 201  # an immutable tag may be created once
    other = push_image(registry, f"{source}/app", "v1", layers=[os.urandom(300)])
    frozen = copy(registry, repo_id, "v1", admin, target=f"{target}/app:v1")
    assert frozen.status_code == 403, frozen.text
    assert "immutable" in frozen.json()["error"]["message"]
    assert pull(registry, f"{target}/app", "v1")[2] == image.digest != other.digest

    full = registry.new_project("private", group=source.split("/")[0])
    limit = registry.client.patch(
        f"/api/v1/projects/{full}", json={"storage_limit_bytes": 100}, headers=auth(admin)
    )
    assert limit.status_code == 200, limit.text
    over = copy(registry, repo_id, "v1", admin, target=f"{full}/app:v1")
    assert over.status_code == 403, over.text
    assert pull(registry, f"{full}/app", "v1")[0] == 404  # nothing half-copied
    assert blob_status(registry, f"{full}/app", other.layers[0]["digest"]) == 404


@pytest.fixture(scope="module")
def hooked(backend: str, make_auth_registry) -> AuthRegistry:  # noqa: ANN001
    return make_auth_registry(backend, webhook_allowed_hosts="127.0.0.1")


def test_a_promotion_tells_the_targets_hooks_who_promoted(hooked: AuthRegistry) -> None:
    source = hooked.new_project("private")
    target = hooked.new_project("private", group=source.split("/")[0])
    image = push_image(hooked, f"{source}/app", "rc-1", layers=[os.urandom(100)])
    repo_id = repository_id(hooked, source, f"{source}/app", hooked.admin_pat)
    with receiver() as heard:
        add_hook(hooked, target, heard.url)
        done = copy(hooked, repo_id, "rc-1", hooked.admin_pat, target=f"{target}/app:1.0")
        assert done.status_code == 201, done.text
        worker(hooked).drain()
        (event,) = [json.loads(r.body) for r in heard.received]
    assert event["event"] == "push" and event["tag"] == "1.0"
    assert event["repository"] == f"{target}/app" and event["digest"] == image.digest
    assert event["actor"]["name"] == "admin"
