"""`dockyard scan REF --wait`: queue, run and show a real scan of a pushed image."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from dockyard.cli.main import app
from dockyard.cli.scan_commands import split_reference
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.http.app import create_app
from dockyard.vulndb.importer import import_paths
from tests.jobs.test_scan_end_to_end import STATUS, layer
from tests.scan.test_os_packages import DEBIAN_OS_RELEASE
from tests.vulndb.records import DEBIAN_OPENSSL, write_folder


def push(client: TestClient, repository: str, tag: str, blobs: list[bytes]) -> str:
    descriptors = []
    for data in blobs:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        resp = client.post(f"/v2/{repository}/blobs/uploads/?digest={digest}", content=data)
        assert resp.status_code == 201, resp.text
        descriptors.append({"digest": digest, "size": len(data)})
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **descriptors[0]},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **d}
            for d in descriptors[1:]
        ],
    }
    resp = client.put(
        f"/v2/{repository}/manifests/{tag}",
        content=json.dumps(manifest),
        headers={"Content-Type": manifest["mediaType"]},
    )
    assert resp.status_code == 201, resp.text
    return resp.headers["docker-content-digest"]


def test_split_reference() -> None:
    assert split_reference("acme/app/web:v1") == ("acme/app/web", "tag", "v1")
    assert split_reference("acme/app/web@sha256:ab") == ("acme/app/web", "digest", "sha256:ab")
    assert split_reference("acme/app/web") == ("acme/app/web", "tag", "latest")
    assert split_reference("host:5000/acme/web") == ("host:5000/acme/web", "tag", "latest")


def test_scan_waits_and_shows_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DOCKYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCKYARD_AUTH", "none")
    settings = Settings(data_dir=tmp_path / "data", auth="none")
    image = layer({"etc/os-release": DEBIAN_OS_RELEASE, "var/lib/dpkg/status": STATUS})
    with TestClient(create_app(settings)) as client:
        digest = push(client, "acme/app/web", "v1", [b'{"os":"linux"}', image])
    db = Database(settings.effective_database_url)
    import_paths(db, [write_folder(tmp_path / "osv", [DEBIAN_OPENSSL])])
    db.dispose()

    runner = CliRunner()
    shown = runner.invoke(app, ["scan", "acme/app/web:v1", "--wait"])
    assert shown.exit_code == 0, shown.output
    assert f"acme/app/web:v1 ({digest}): done" in shown.output
    assert "DSA-5532-1" in shown.output and "libssl3" in shown.output

    as_json = runner.invoke(app, ["scan", f"acme/app/web@{digest}", "--wait", "-o", "json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert body["status"] == "done"
    assert [f["advisory_id"] for f in body["findings"]] == ["DSA-5532-1"]

    missing = runner.invoke(app, ["scan", "acme/app/nope:v1"])
    assert missing.exit_code == 1
    assert "acme/app/nope:v1" in missing.output
