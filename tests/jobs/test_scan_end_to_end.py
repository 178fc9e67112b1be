"""The real pieces together: a pushed image is scanned by the real walker and analyzers,
advisories imported from OSV files are matched, and the REST report shows the findings;
a later import (a fix withdrawn) is matched again from the stored inventory alone."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.oci.digest import parse_digest
from dockyard.storage import open_store
from dockyard.vulndb.importer import import_paths
from dockyard.workers.jobs import JobWorker
from dockyard.workers.kinds import job_kinds
from tests.api.helpers import auth, push_image, repository_id
from tests.scan.test_os_packages import DEBIAN_OS_RELEASE
from tests.support.auth_registry import AuthRegistry
from tests.vulndb.records import DEBIAN_OPENSSL, PYPI_REQUESTS, changed, write_folder

STATUS = """Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u1

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
"""
SITE = "usr/local/lib/python3.11/site-packages"


def layer(files: dict[str, str]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"


@pytest.fixture(scope="module")
def reg(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend)


def drain(reg: AuthRegistry) -> None:
    kinds = job_kinds(reg.settings, reg.db, open_store(reg.settings))
    JobWorker(reg.db, kinds, backoff_seconds=0).drain()


def test_push_scan_match_report_and_rematch(reg: AuthRegistry, tmp_path: Path) -> None:
    project = reg.new_project("private")
    base = layer({"etc/os-release": DEBIAN_OS_RELEASE, "var/lib/dpkg/status": STATUS})
    app = layer(
        {
            f"{SITE}/requests-2.19.1.dist-info/METADATA": metadata("requests", "2.19.1"),
            f"{SITE}/idna-3.7.dist-info/METADATA": metadata("idna", "3.7"),
        }
    )
    pushed = push_image(reg, f"{project}/app", "v1", layers=[base, app])
    repo_id = repository_id(reg, project, f"{project}/app", reg.admin_pat)
    url = f"/api/v1/registry/repositories/{repo_id}/manifests/{pushed.digest}/vulnerabilities"

    import_paths(reg.db, [write_folder(tmp_path / "osv", [DEBIAN_OPENSSL, PYPI_REQUESTS])])
    drain(reg)
    body = reg.client.get(url, headers=auth(reg.admin_pat)).json()
    assert body["status"] == "done", body
    assert body["os"] == {"id": "debian", "version": "12"}
    found = {
        (v["id"], v["package"], v["installed_version"], v["fixed_version"], v["severity"])
        for v in body["vulnerabilities"]
    }
    assert found == {
        ("DSA-5532-1", "libssl3", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", "unknown"),
        ("GHSA-x84v-xcm2-53pg", "requests", "2.19.1", "2.20.0", "high"),
    }
    by_id = {v["id"]: v for v in body["vulnerabilities"]}
    assert by_id["DSA-5532-1"]["source_package"] == "openssl"
    assert by_id["DSA-5532-1"]["layer_digest"] == pushed.layers[0]["digest"]
    assert by_id["GHSA-x84v-xcm2-53pg"]["layer_digest"] == pushed.layers[1]["digest"]

    # The requests advisory is withdrawn: the import queues a rematch, which reads no layer.
    withdrawn = changed(
        PYPI_REQUESTS, modified="2024-01-01T00:00:00Z", withdrawn="2024-01-01T00:00:00Z"
    )
    import_paths(reg.db, [write_folder(tmp_path / "osv2", [withdrawn])])
    store = open_store(reg.settings)
    for descriptor in pushed.layers:  # prove the rematch never reads the layers
        digest = descriptor["digest"]
        path = store.local_path(parse_digest(digest))
        path.rename(path.with_suffix(".away"))
    drain(reg)
    after = reg.client.get(url, headers=auth(reg.admin_pat)).json()
    assert {v["id"] for v in after["vulnerabilities"]} == {"DSA-5532-1"}
    assert json.dumps(after["summary"]) == json.dumps(
        {"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 1}
    )


def test_sbom_in_both_formats(reg: AuthRegistry) -> None:
    project = reg.new_project("private")
    base = layer({"etc/os-release": DEBIAN_OS_RELEASE, "var/lib/dpkg/status": STATUS})
    app = layer({f"{SITE}/requests-2.19.1.dist-info/METADATA": metadata("requests", "2.19.1")})
    pushed = push_image(reg, f"{project}/app", "v1", layers=[base, app])
    repo_id = repository_id(reg, project, f"{project}/app", reg.admin_pat)
    url = f"/api/v1/registry/repositories/{repo_id}/manifests/{pushed.digest}/sbom"
    early = reg.client.get(url, headers=auth(reg.admin_pat))
    assert early.status_code == 404 and "scan status: queued" in early.json()["error"]["message"]
    drain(reg)

    cdx = reg.client.get(url, headers=auth(reg.admin_pat))
    assert cdx.status_code == 200, cdx.text
    assert cdx.headers["content-type"].startswith("application/vnd.cyclonedx+json")
    bom = cdx.json()
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    assert bom["metadata"]["component"]["version"] == pushed.digest
    assert {c["purl"] for c in bom["components"]} == {
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64",
        "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64",
        "pkg:pypi/requests@2.19.1",
    }

    spdx = reg.client.get(url, params={"format": "spdx"}, headers=auth(reg.admin_pat))
    assert spdx.status_code == 200, spdx.text
    doc = spdx.json()
    assert doc["spdxVersion"] == "SPDX-2.3"
    purls = {ref["referenceLocator"] for p in doc["packages"] for ref in p.get("externalRefs", [])}
    assert "pkg:pypi/requests@2.19.1" in purls and len(purls) == 3
    bad = reg.client.get(url, params={"format": "xml"}, headers=auth(reg.admin_pat))
    assert bad.status_code in (400, 422)


def test_the_scan_limit_settings_fail_a_scan_with_the_reason(
    backend: str, make_auth_registry: Callable[..., AuthRegistry]
) -> None:
    small = make_auth_registry(backend, scan_max_files_per_layer=3)
    project = small.new_project("private")
    many = layer({f"etc/file{i}": "x" for i in range(5)})
    pushed = push_image(small, f"{project}/app", "v1", layers=[many])
    drain(small)
    repo_id = repository_id(small, project, f"{project}/app", small.admin_pat)
    url = f"/api/v1/registry/repositories/{repo_id}/manifests/{pushed.digest}/vulnerabilities"
    body = small.client.get(url, headers=auth(small.admin_pat)).json()
    assert body["status"] == "failed"
    assert "more than 3 files" in body["reason"]


def referrers(reg: AuthRegistry, repository: str, digest: str) -> list[dict]:
    token = reg.token("admin", reg.admin_pat, f"repository:{repository}:pull")
    resp = reg.client.get(f"/v2/{repository}/referrers/{digest}", headers=reg.bearer(token))
    assert resp.status_code == 200, resp.text
    return resp.json()["manifests"]


def test_a_project_can_attach_the_sbom_as_a_referrer(reg: AuthRegistry) -> None:
    attaching, plain = reg.new_project("private"), reg.new_project("private")
    resp = reg.client.patch(
        f"/api/v1/projects/{attaching}",
        json={"vulnerability_policy": {"attach_sbom": True}},
        headers=auth(reg.admin_pat),
    )
    assert resp.status_code == 200 and resp.json()["vulnerability_policy"]["attach_sbom"] is True
    base = layer({"etc/os-release": DEBIAN_OS_RELEASE, "var/lib/dpkg/status": STATUS})
    image = push_image(reg, f"{attaching}/app", "v1", layers=[base])
    other = push_image(reg, f"{plain}/app", "v1", layers=[base, layer({"x": "other"})])
    drain(reg)

    assert referrers(reg, f"{plain}/app", other.digest) == []
    (found,) = referrers(reg, f"{attaching}/app", image.digest)
    assert found["artifactType"] == "application/vnd.cyclonedx+json"
    token = reg.token("admin", reg.admin_pat, f"repository:{attaching}/app:pull")
    manifest = reg.client.get(
        f"/v2/{attaching}/app/manifests/{found['digest']}",
        headers={**reg.bearer(token), "Accept": "application/vnd.oci.image.manifest.v1+json"},
    ).json()
    assert manifest["subject"]["digest"] == image.digest
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    (sbom_layer,) = manifest["layers"]
    bom = reg.client.get(
        f"/v2/{attaching}/app/blobs/{sbom_layer['digest']}", headers=reg.bearer(token)
    ).json()
    assert bom["bomFormat"] == "CycloneDX"
    assert {c["name"] for c in bom["components"]} == {"libssl3", "zlib1g"}

    # A rescan with the same inventory writes no second SBOM.
    repo_id = repository_id(reg, attaching, f"{attaching}/app", reg.admin_pat)
    rescan = f"/api/v1/registry/repositories/{repo_id}/manifests/{image.digest}/scan"
    assert reg.client.post(rescan, headers=auth(reg.admin_pat)).status_code == 202
    drain(reg)
    assert [r["digest"] for r in referrers(reg, f"{attaching}/app", image.digest)] == [
        found["digest"]
    ]
    status = f"/api/v1/registry/repositories/{repo_id}/manifests/{found['digest']}/vulnerabilities"
    assert reg.client.get(status, headers=auth(reg.admin_pat)).json()["status"] is None
