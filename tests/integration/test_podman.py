"""podman against the live registry, with TLS off only through the private registries.conf."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.integration.clients import ClientSandbox, ImageBuilder, LayoutImage

pytestmark = pytest.mark.integration


def image_info(sandbox: ClientSandbox, ref: str) -> dict[str, Any]:
    [info] = json.loads(sandbox.podman("image", "inspect", ref).stdout)
    return info


@pytest.mark.timeout(180)
def test_podman_push_then_pull_by_tag_and_by_digest(
    sandbox: ClientSandbox, images: ImageBuilder, repo: str
) -> None:
    """An image pushed by podman comes back with the same manifest digest and image ID."""
    local = images.local("podman")
    image_id = image_info(sandbox, local)["Id"]
    remote = sandbox.ref(repo, "v1")
    digestfile = sandbox.root / f"digest-{repo.replace('/', '_')}"
    sandbox.podman("push", "--digestfile", str(digestfile), local, remote)
    digest = digestfile.read_text().strip()
    assert digest.startswith("sha256:"), digest
    assert sandbox.inspect(repo, "v1")["Digest"] == digest

    sandbox.podman("rmi", local)
    assert sandbox.podman("image", "exists", image_id, check=False).returncode == 1

    pulled_id = sandbox.podman("pull", "-q", remote).stdout.split()[-1]
    assert pulled_id == image_id
    info = image_info(sandbox, remote)
    assert info["Id"] == image_id
    assert info["Digest"] == digest
    assert sandbox.ref(repo, digest) in info["RepoDigests"]

    sandbox.podman("rmi", remote)
    by_digest = sandbox.ref(repo, digest)
    sandbox.podman("pull", "-q", by_digest)
    info = image_info(sandbox, by_digest)
    assert info["Id"] == image_id
    assert info["Digest"] == digest


@pytest.mark.timeout(120)
def test_pull_of_missing_tag_fails_cleanly(
    sandbox: ClientSandbox, tiny_image: LayoutImage, repo: str, live_server: Any
) -> None:
    """A missing tag is a clean 'manifest unknown' for the client, never a server crash."""
    sandbox.skopeo_copy(tiny_image.ref, sandbox.docker_ref(repo, "present"))

    for ref in (sandbox.ref(repo, "absent"), sandbox.ref(repo + "-nothing", "v1")):
        result = sandbox.podman("pull", ref, check=False, timeout=60)
        assert result.returncode != 0, result.describe()
        assert re.search(r"manifest unknown|name unknown|not found", result.stderr, re.I), (
            result.describe()
        )
        assert not re.search(r"\b50\d\b|internal server error", result.stderr, re.I), (
            result.describe()
        )
    assert "Traceback" not in live_server.log()
