"""The tag page: each layer with the history step that created it, the manifest and
configuration JSON in collapsible sections with a download of the exact bytes, and the
referrers grouped by kind (signatures, SBOMs, …), each opening and downloading."""

from __future__ import annotations

import os

from tests.api.helpers import OCI_MANIFEST, push_image
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.support.tag_protection import SIGNATURE
from tests.ui.test_pages import signed_in

SBOM = "application/spdx+json"


def test_layers_json_and_referrers(registry: AuthRegistry) -> None:
    project = registry.new_project("private")
    repository = f"{project}/app"
    config = {
        "architecture": "amd64",
        "os": "linux",
        "history": [
            {"created_by": "ADD rootfs.tar /"},
            {"created_by": "ENV A=1", "empty_layer": True},
            {"created_by": "RUN make install"},
        ],
    }
    image = push_image(
        registry, repository, "v1", layers=[os.urandom(100), os.urandom(50)], config=config
    )
    subject = {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.body)}
    signature = push_image(
        registry, repository, "sig", layers=[b"sig"], subject=subject, artifact_type=SIGNATURE
    )
    sbom = push_image(
        registry, repository, "sbom", layers=[b"{}"], subject=subject, artifact_type=SBOM
    )
    browser = signed_in(registry, "admin", ADMIN_PASSWORD)
    page = browser.get(f"/r/{repository}/-/tags/v1").text

    rows = page.split("<h2>Layers</h2>")[1].split("</table>")[0]
    assert rows.index("ADD rootfs.tar /") < rows.index("RUN make install")
    assert "ENV A=1" not in rows  # a step that made no layer has no row
    assert '<details class="json"><summary><h2>Manifest</h2>' in page
    assert "Configuration JSON" in page
    for heading, digest in (("Signatures", signature.digest), ("SBOMs", sbom.digest)):
        section = page.split(f"<h3>{heading}</h3>")[1].split("</ul>")[0]
        assert f'href="/r/{repository}/-/manifests/{digest}"' in section

    raw = browser.get(f"/r/{repository}/-/manifests/{image.digest}/raw")
    assert raw.status_code == 200 and raw.content == image.body
    assert raw.headers["content-type"].startswith(OCI_MANIFEST)
    assert raw.headers["content-disposition"].startswith("attachment")
    missing = browser.get(f"/r/{repository}/-/manifests/sha256:{'0' * 64}/raw")
    assert missing.status_code == 404
