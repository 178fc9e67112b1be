"""A live Dockyard on S3 storage (SeaweedFS), pushed to and pulled from with skopeo; blob
GETs redirect to presigned S3 URLs, which skopeo follows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.clients import (
    ClientSandbox,
    ImageBuilder,
    OciLayout,
    fresh_dir,
    sha256_digest,
)
from tests.integration.conftest import LiveServer, fail_on_traceback
from tests.support.seaweed import SeaweedS3

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3_server(seaweed: SeaweedS3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {
        "DOCKYARD_STORAGE": "s3",
        "DOCKYARD_S3_ENDPOINT": seaweed.endpoint,
        "DOCKYARD_S3_BUCKET": seaweed.bucket,
        "DOCKYARD_S3_PREFIX": "live-skopeo",
        "DOCKYARD_S3_REDIRECT": "true",
        "DOCKYARD_S3_REDIRECT_TTL_SECONDS": "120",
        "DOCKYARD_S3_PART_SIZE_BYTES": str(5 * 1024 * 1024),
        # no s3_access_key/s3_secret_key: the AWS variables, as botocore's chain reads them
        "AWS_ACCESS_KEY_ID": seaweed.access_key,
        "AWS_SECRET_ACCESS_KEY": seaweed.secret_key,
    }
    server = LiveServer("dockyard", tmp_path_factory.mktemp("s3-server"), "", extra_env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()
    fail_on_traceback(server.log(), "in the S3-backed server")


@pytest.mark.timeout(180)
def test_skopeo_pushes_and_pulls_through_s3_redirects(
    s3_server: LiveServer, repo: str, tmp_path: Path, seaweed: SeaweedS3
) -> None:
    sandbox = ClientSandbox(s3_server.host, tmp_path / "clients")
    image = ImageBuilder(sandbox, tmp_path / "images").single("s3")
    digestfile = tmp_path / "digest"
    target = sandbox.docker_ref(repo, "v1")
    sandbox.skopeo_copy(image.ref, target, "--digestfile", str(digestfile))
    digest = digestfile.read_text().strip()

    manifest = json.loads(sandbox.inspect_raw(repo, "v1"))
    layer = manifest["layers"][0]["digest"]
    with httpx.Client(base_url=s3_server.url, trust_env=False) as http:
        resp = http.get(f"/v2/{repo}/blobs/{layer}")
        assert resp.status_code == 307, resp.text
        assert resp.headers["Location"].startswith(seaweed.endpoint)
        assert sha256_digest(httpx.get(resp.headers["Location"]).content) == layer
        assert http.get("/-/ready").status_code == 200

    back = OciLayout(fresh_dir(tmp_path, "back"))
    sandbox.skopeo_copy(target, f"oci:{back.path}:v1")  # blobs come from S3 via 307
    assert back.descriptor("v1")["digest"] == digest
    pulled = back.json_blob(digest)
    for entry in [pulled["config"], *pulled["layers"]]:
        assert sha256_digest(back.blob(entry["digest"])) == entry["digest"]
    keys = seaweed.client().list_objects_v2(Bucket=seaweed.bucket, Prefix="live-skopeo/blobs/")
    stored = {item["Key"].rsplit("/", 1)[1] for item in keys.get("Contents", [])}
    assert layer.removeprefix("sha256:") in stored
