"""skopeo against the live registry: copies both ways, multi-arch, zstd, v2s2, tags, delete."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.integration.clients import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    ClientSandbox,
    ImageBuilder,
    LayoutImage,
    OciLayout,
    fresh_dir,
    get_manifest,
    sha256_digest,
    tags_of,
)

pytestmark = pytest.mark.integration

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def push(sandbox: ClientSandbox, image: LayoutImage, repo: str, tag: str, *extra: str) -> str:
    """skopeo copy a layout image to the registry; returns the digest skopeo reports."""
    digestfile = sandbox.root / f"digest-{repo.replace('/', '_')}-{tag}"
    target = sandbox.docker_ref(repo, tag)
    sandbox.skopeo_copy(image.ref, target, "--digestfile", str(digestfile), *extra)
    digest = digestfile.read_text().strip()
    assert digest.startswith("sha256:"), digest
    return digest


def layer_digests(manifest: dict) -> list[str]:
    return [layer["digest"] for layer in manifest["layers"]]


@pytest.mark.timeout(120)
def test_copy_in_inspect_and_copy_back(
    sandbox: ClientSandbox, tiny_image: LayoutImage, repo: str, tmp_path: Path
) -> None:
    """The digest skopeo pushed is the one the registry serves, and the bytes hash to it."""
    digest = push(sandbox, tiny_image, repo, "v1")

    info = sandbox.inspect(repo, "v1")
    assert info["Digest"] == digest
    assert "v1" in info["RepoTags"]

    raw = sandbox.inspect_raw(repo, "v1")
    assert sha256_digest(raw) == digest
    manifest = json.loads(raw)
    assert manifest["mediaType"] == OCI_MANIFEST
    assert info["Layers"] == layer_digests(manifest)
    # Only the layer compression changes on push; the config blob travels untouched.
    source = tiny_image.layout.json_blob(tiny_image.layout.descriptor("v1")["digest"])
    assert manifest["config"]["digest"] == source["config"]["digest"]

    back = OciLayout(fresh_dir(tmp_path, "back"))
    sandbox.skopeo_copy(sandbox.docker_ref(repo, "v1"), f"oci:{back.path}:v1")
    pulled = back.descriptor("v1")
    assert pulled["digest"] == digest
    pulled_manifest = back.json_blob(pulled["digest"])
    assert layer_digests(pulled_manifest) == layer_digests(manifest)
    for layer in pulled_manifest["layers"]:
        assert len(back.blob(layer["digest"])) == layer["size"]
    back.blob(pulled_manifest["config"]["digest"])


@pytest.mark.timeout(180)
def test_multi_platform_index(
    sandbox: ClientSandbox, multi_image: LayoutImage, repo: str, tmp_path: Path
) -> None:
    """copy --all keeps the index and both images; --override-arch picks one out of it."""
    digest = push(sandbox, multi_image, repo, "v1", "--all")

    raw = sandbox.inspect_raw(repo, "v1")
    assert sha256_digest(raw) == digest
    index = json.loads(raw)
    assert index["mediaType"] == OCI_INDEX
    assert len(index["manifests"]) == 2
    by_arch = {m["platform"]["architecture"]: m for m in index["manifests"]}
    assert set(by_arch) == {"amd64", "arm64"}

    back = OciLayout(fresh_dir(tmp_path, "back"))
    sandbox.skopeo_copy(sandbox.docker_ref(repo, "v1"), f"oci:{back.path}:v1", "--all")
    assert back.descriptor("v1")["digest"] == digest
    pulled_index = back.json_blob(digest)
    assert {m["digest"] for m in pulled_index["manifests"]} == {
        m["digest"] for m in index["manifests"]
    }
    for entry in pulled_index["manifests"]:
        image = back.json_blob(entry["digest"])
        config = back.json_blob(image["config"]["digest"])
        assert config["architecture"] == entry["platform"]["architecture"]
        for layer in image["layers"]:
            back.blob(layer["digest"])

    arm_repo = repo + "-arm64"
    arm_ref = sandbox.docker_ref(arm_repo, "v1")
    sandbox.skopeo_copy(sandbox.docker_ref(repo, "v1"), arm_ref, "--override-arch", "arm64")
    arm_raw = sandbox.inspect_raw(arm_repo, "v1")
    assert sha256_digest(arm_raw) == by_arch["arm64"]["digest"]
    assert json.loads(arm_raw)["mediaType"] == OCI_MANIFEST
    assert sandbox.inspect(arm_repo, "v1")["Architecture"] == "arm64"


@pytest.mark.timeout(120)
def test_zstd_layers(
    sandbox: ClientSandbox, images: ImageBuilder, repo: str, http: httpx.Client
) -> None:
    """A zstd layer is stored and served byte-exact under its digest."""
    image = images.single("zstd")  # fresh content: no cached gzip blob to fall back on
    digest = push(sandbox, image, repo, "v1", "--dest-compress-format", "zstd")

    manifest = json.loads(sandbox.inspect_raw(repo, digest))
    assert manifest["mediaType"] == OCI_MANIFEST
    [layer] = manifest["layers"]
    assert layer["mediaType"].endswith("+zstd"), layer

    resp = http.get(f"/v2/{repo}/blobs/{layer['digest']}", follow_redirects=True)
    assert resp.status_code == 200, resp.text
    assert sha256_digest(resp.content) == layer["digest"]
    assert len(resp.content) == layer["size"]
    assert resp.content.startswith(ZSTD_MAGIC)


@pytest.mark.timeout(120)
def test_docker_v2_schema2(
    sandbox: ClientSandbox, images: ImageBuilder, repo: str, http: httpx.Client
) -> None:
    """A Docker v2s2 manifest is served with its own media type, unchanged."""
    image = images.single("v2s2")
    digest = push(sandbox, image, repo, "v1", "--format", "v2s2")

    raw = sandbox.inspect_raw(repo, "v1")
    assert sha256_digest(raw) == digest
    assert json.loads(raw)["mediaType"] == DOCKER_MANIFEST

    resp = get_manifest(http, repo, "v1", accept=DOCKER_MANIFEST)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == DOCKER_MANIFEST
    assert resp.headers["Docker-Content-Digest"] == digest
    assert resp.content == raw


@pytest.mark.timeout(120)
def test_list_tags(
    sandbox: ClientSandbox, tiny_image: LayoutImage, repo: str, http: httpx.Client
) -> None:
    """Exactly the pushed tags come back, in lexical order (pushed out of order here)."""
    tags = ["v2", "latest", "1.0"]
    for tag in tags:
        push(sandbox, tiny_image, repo, tag)

    listed = json.loads(sandbox.skopeo("list-tags", sandbox.docker_ref(repo)).stdout)
    assert sorted(listed["Tags"]) == sorted(tags), "wrong set of tags"
    # The spec wants lexical order (Distribution 2.8 returns directory order and fails here).
    assert listed["Tags"] == sorted(tags), "tags not in lexical order"
    assert tags_of(http, repo) == sorted(tags)


@pytest.mark.timeout(120)
def test_delete_by_digest(
    sandbox: ClientSandbox,
    tiny_image: LayoutImage,
    images: ImageBuilder,
    repo: str,
    http: httpx.Client,
) -> None:
    """Deleting a manifest removes it and every tag on it, and nothing else."""
    digest = push(sandbox, tiny_image, repo, "a")
    assert push(sandbox, tiny_image, repo, "b") == digest
    other = push(sandbox, images.single("keep"), repo, "keep")
    assert other != digest

    sandbox.skopeo("delete", sandbox.docker_ref(repo, digest))

    for ref in (digest, "a", "b"):
        resp = get_manifest(http, repo, ref)
        assert resp.status_code == 404, f"GET manifest {ref}: {resp.status_code} {resp.text}"
    assert get_manifest(http, repo, "keep").status_code == 200
    listed = json.loads(sandbox.skopeo("list-tags", sandbox.docker_ref(repo)).stdout)
    assert listed["Tags"] == ["keep"]
    failed = sandbox.skopeo("inspect", sandbox.docker_ref(repo, "a"), check=False)
    assert failed.returncode != 0
