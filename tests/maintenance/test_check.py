"""`dockyard check`: verify blobs against digests and the database, and repair."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from typer.testing import CliRunner

from dockyard.cli.main import app
from tests.http.oci_helpers import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    assert_error,
    blob_url,
    descriptor,
    digest_of,
    image_manifest,
    push_blob,
    push_manifest,
    random_bytes,
    uploads_url,
    with_query,
)
from tests.maintenance.conftest import Instance


def findings(report: dict, kind: str) -> list[str]:
    return sorted(f["subject"] for f in report["findings"] if f["kind"] == kind)


def test_a_clean_store_passes(instance: Instance) -> None:
    for n in range(3):
        push_blob(instance.client, "t/clean", random_bytes(1000 + n))
    result = instance.cli("check")
    assert result.exit_code == 0, result.output
    assert "checked 3 blobs" in result.stdout and "clean" in result.stdout
    code, report = instance.cli_json("check")
    assert code == 0
    assert report["ok"] is True and report["blobs_checked"] == 3 and report["findings"] == []
    assert report["bytes_checked"] == 3000 + 0 + 1 + 2


def test_every_kind_of_damage_is_reported(instance: Instance) -> None:
    client = instance.client
    corrupt = push_blob(client, "t/damage", b"a" * 5000)
    missing = push_blob(client, "t/damage", b"b" * 5000)
    resized = push_blob(client, "t/damage", b"c" * 5000)
    healthy = push_blob(client, "t/damage", b"d" * 5000)
    instance.blob_file(corrupt).write_bytes(b"A" * 5000)  # same size, other bytes
    instance.blob_file(missing).unlink()
    with instance.blob_file(resized).open("ab") as handle:
        handle.write(b"tail")
    stray = digest_of(b"nobody recorded me")
    instance.blob_file(stray).parent.mkdir(parents=True, exist_ok=True)
    instance.blob_file(stray).write_bytes(b"nobody recorded me")
    stale_upload = str(uuid.uuid4())
    (instance.settings.data_dir / "uploads" / stale_upload).write_bytes(b"half")
    (instance.settings.data_dir / "blobs" / "sha256" / "notes.txt").write_text("junk")

    result = instance.cli("check")
    assert result.exit_code == 1, result.output
    assert f"corrupt       {corrupt}" in result.stdout
    code, report = instance.cli_json("check")
    assert code == 1 and report["ok"] is False
    assert findings(report, "corrupt") == sorted([corrupt, resized])
    assert findings(report, "missing") == [missing]
    assert findings(report, "orphaned") == sorted([stray, "blobs/sha256/notes.txt"])
    assert findings(report, "stale_upload") == [stale_upload]
    assert healthy not in str(report["findings"])
    assert report["counts"] == {
        "missing": 1,
        "corrupt": 2,
        "orphaned": 2,
        "stale_upload": 1,
        "restorable": 0,
    }
    assert report["missing"] == [missing] and report["stale_upload"] == [stale_upload]
    assert all(f["action"] is None for f in report["findings"])  # a check changes nothing
    assert instance.blob_file(stray).exists()
    assert client.head(blob_url("t/damage", corrupt)).status_code == 200


def test_repair_removes_orphans_and_hides_bad_blobs_until_pushed_again(
    instance: Instance,
) -> None:
    client = instance.client
    layer, config = b"layer bytes" * 500, b'{"architecture":"amd64","os":"linux"}'
    corrupt = push_blob(client, "t/repair", layer)
    missing = push_blob(client, "t/repair", config)
    instance.blob_file(corrupt).write_bytes(b"X" * len(layer))
    instance.blob_file(missing).unlink()
    stray = digest_of(b"stray")
    instance.blob_file(stray).parent.mkdir(parents=True, exist_ok=True)
    instance.blob_file(stray).write_bytes(b"stray")
    stale_upload = instance.settings.data_dir / "uploads" / str(uuid.uuid4())
    stale_upload.write_bytes(b"half")
    junk = instance.settings.data_dir / "uploads" / "copy-of-something.tmp"
    junk.write_bytes(b"junk")

    code, report = instance.cli_json("check", "--repair")
    assert code == 1  # corrupt and missing bytes need a push to be whole again
    actions = {f["subject"]: f["action"] for f in report["findings"]}
    assert actions[stray] == "removed"
    assert actions[stale_upload.name] == actions["uploads/copy-of-something.tmp"] == "removed"
    assert not junk.exists()
    assert actions[corrupt] == actions[missing] == "marked unavailable"
    assert not instance.blob_file(stray).exists()
    assert not stale_upload.exists()
    assert instance.blob_file(corrupt).exists()  # kept for inspection, never served

    for digest in (corrupt, missing):
        assert_error(client.head(blob_url("t/repair", digest)), 404, "BLOB_UNKNOWN")
        assert_error(client.get(blob_url("t/repair", digest)), 404, "BLOB_UNKNOWN")
    # Nothing counts an unavailable blob as present: manifests and mounts neither.
    manifest = image_manifest(
        descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER, layer)], media_type=OCI_MANIFEST
    )
    resp = push_manifest(client, "t/repair", "v1", manifest, OCI_MANIFEST, expect=400)
    assert_error(resp, 400, "MANIFEST_BLOB_UNKNOWN")
    mount = client.post(
        with_query(uploads_url("t/other"), mount=corrupt, **{"from": "t/repair"}),
        headers={"Content-Length": "0"},
    )
    assert mount.status_code == 202  # a new upload session, not a mount

    code, report = instance.cli_json("check")
    assert code == 1 and findings(report, "orphaned") == []
    assert {f["action"] for f in report["findings"]} == {"already marked unavailable"}

    # A client pushes the blobs again (HEAD said 404): they are healed.
    assert push_blob(client, "t/repair", layer) == corrupt
    assert push_blob(client, "t/repair", config) == missing
    assert client.head(blob_url("t/repair", corrupt)).status_code == 200
    assert client.get(blob_url("t/repair", corrupt)).content == layer
    assert client.get(blob_url("t/repair", missing)).content == config
    push_manifest(client, "t/repair", "v1", manifest, OCI_MANIFEST)
    code, report = instance.cli_json("check")
    assert code == 0, report


def test_bytes_copied_back_make_a_blob_available_again(instance: Instance) -> None:
    client = instance.client
    data = random_bytes(3000)
    digest = push_blob(client, "t/restored", data)
    instance.blob_file(digest).unlink()
    assert instance.cli("check", "--repair").exit_code == 1
    assert client.head(blob_url("t/restored", digest)).status_code == 404
    instance.blob_file(digest).write_bytes(data)  # e.g. copied back from a backup
    code, report = instance.cli_json("check")
    assert code == 1 and findings(report, "restorable") == [digest]
    code, report = instance.cli_json("check", "--repair")
    assert code == 0 and report["findings"][0]["action"] == "mark cleared"
    assert client.get(blob_url("t/restored", digest)).content == data


def test_an_orphan_is_kept_while_an_upload_may_be_committing(instance: Instance) -> None:
    """A session row whose bytes are gone may be a push between rename and row: wait."""
    client = instance.client
    resp = client.post(uploads_url("t/inflight"), headers={"Content-Length": "0"})
    session = resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    data = b"just renamed"
    stray = instance.blob_file(digest_of(data))
    stray.parent.mkdir(parents=True, exist_ok=True)
    os.rename(instance.settings.data_dir / "uploads" / session, stray)
    stray.write_bytes(data)
    code, report = instance.cli_json("check", "--repair")
    assert code == 1
    assert report["findings"][0]["action"].startswith("kept: an upload is being committed")
    assert stray.exists()


def test_an_unreadable_blob_is_reported_not_a_crash(instance: Instance) -> None:
    digest = push_blob(instance.client, "t/unreadable", b"secret" * 100)
    path = instance.blob_file(digest)
    path.unlink()
    path.mkdir()  # reading it fails with an OS error, as a bad disk sector would
    code, report = instance.cli_json("check")
    assert code == 1
    assert findings(report, "corrupt") == [digest]
    assert "cannot be read" in report["findings"][0]["detail"]


def test_a_check_that_cannot_run_says_why(tmp_path: Path) -> None:
    env = {"DOCKYARD_DATA_DIR": str(tmp_path), "DOCKYARD_DATABASE_URL": ""}
    result = CliRunner().invoke(app, ["check"], env=env)  # never set up: no tables
    assert result.exit_code == 2
    assert "the check could not run" in result.output and "Traceback" not in result.output
