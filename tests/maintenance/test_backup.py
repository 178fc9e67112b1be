"""`dockyard backup` and `dockyard restore`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from dockyard.cli.main import app as cli_app
from tests.http.oci_helpers import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    blob_url,
    descriptor,
    image_manifest,
    manifest_url,
    push_blob,
    push_manifest,
    random_bytes,
)
from tests.maintenance.conftest import Instance


def push_image(instance: Instance, repo: str) -> tuple[str, bytes, bytes]:
    assert instance.client is not None
    layer, config = random_bytes(20_000), b'{"architecture":"amd64","os":"linux"}'
    push_blob(instance.client, repo, layer)
    push_blob(instance.client, repo, config)
    manifest = image_manifest(
        descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER, layer)], media_type=OCI_MANIFEST
    )
    resp = push_manifest(instance.client, repo, "v1", manifest, OCI_MANIFEST)
    return resp.headers["Docker-Content-Digest"], manifest, layer


def test_backup_with_blobs_restores_into_an_empty_registry(
    make_instance: Callable[..., Instance], tmp_path: Path
) -> None:
    source = make_instance()
    digest, manifest, layer = push_image(source, "t/app")
    dest = tmp_path / "backup"
    result = source.cli("backup", str(dest), "--with-blobs")  # the source still serves
    assert result.exit_code == 0, result.output
    info = json.loads((dest / "manifest.json").read_text())
    assert info["blob_count"] == 2 and info["blobs_copied"] == 2
    assert info["schema_revision"] and info["created_at"]
    assert (dest / info["database_file"]).is_file()

    target = make_instance(serve=False)
    result = target.cli("restore", str(dest))
    assert result.exit_code == 0, result.output
    assert "2 blobs restored" in result.stdout
    code, report = target.cli_json("check")
    assert code == 0, report
    client = target.start()
    got = client.get(manifest_url("t/app", "v1"), headers={"Accept": OCI_MANIFEST})
    assert got.status_code == 200 and got.content == manifest
    assert got.headers["Docker-Content-Digest"] == digest
    assert client.get(blob_url("t/app", descriptor(OCI_LAYER, layer)["digest"])).content == layer


def test_backup_without_blobs_says_how_to_copy_them(
    instance: Instance, make_instance: Callable[..., Instance], tmp_path: Path
) -> None:
    push_image(instance, "t/db-only")
    code, info = instance.cli_json("backup", str(tmp_path / "b"))
    assert code == 0 and info["blobs_copied"] is None and info["blob_count"] == 2
    result = instance.cli("backup", str(tmp_path / "b2"))
    assert "rsync -a" in result.stdout
    assert str(instance.settings.data_dir.resolve()) in result.stdout
    # Restored without its blobs, the check names every recorded blob as missing.
    target = make_instance(serve=False)
    assert target.cli("restore", str(tmp_path / "b")).exit_code == 0
    code, report = target.cli_json("check")
    assert code == 1 and report["counts"]["missing"] == 2


def test_backup_never_overwrites_a_backup(instance: Instance, tmp_path: Path) -> None:
    assert instance.cli("backup", str(tmp_path)).exit_code == 0
    result = instance.cli("backup", str(tmp_path))
    assert result.exit_code == 1 and "already holds a backup" in result.output


def test_restore_refuses_to_replace_data_without_force(
    instance: Instance, make_instance: Callable[..., Instance], tmp_path: Path
) -> None:
    push_image(instance, "t/old")
    assert instance.cli("backup", str(tmp_path / "b"), "--with-blobs").exit_code == 0
    other = make_instance()
    push_image(other, "t/new")
    result = other.cli("restore", str(tmp_path / "b"))
    assert result.exit_code == 1 and "--force" in result.output
    other.client.__exit__(None, None, None)  # type: ignore[union-attr]
    assert other.cli("restore", str(tmp_path / "b"), "--force").exit_code == 0
    client = other.start()
    assert client.get(manifest_url("t/old", "v1")).status_code == 200
    assert client.get(manifest_url("t/new", "v1")).status_code == 404


def test_restore_of_something_that_is_not_a_backup(instance: Instance, tmp_path: Path) -> None:
    result = instance.cli("restore", str(tmp_path))
    assert result.exit_code == 1 and "not a finished backup" in result.output


def test_without_pg_dump_the_message_says_what_to_install(
    postgres_url: Callable[[], str], tmp_path: Path
) -> None:
    env = {
        "DOCKYARD_DATABASE_URL": postgres_url(),
        "DOCKYARD_DATA_DIR": str(tmp_path / "data"),
        "PATH": str(tmp_path),  # no pg_dump here
    }
    result = CliRunner().invoke(cli_app, ["backup", str(tmp_path / "b")], env=env)
    assert result.exit_code == 1
    assert "pg_dump is not installed" in result.output
    assert "postgresql-client" in result.output


def test_restore_refuses_while_a_server_listens(
    instance: Instance, make_instance: Callable[..., Instance], tmp_path: Path
) -> None:
    assert instance.cli("backup", str(tmp_path / "b")).exit_code == 0
    target = make_instance(serve=False)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        env = {**target.env, "DOCKYARD_LISTEN": f"127.0.0.1:{port}"}
        result = CliRunner().invoke(cli_app, ["restore", str(tmp_path / "b")], env=env)
    assert result.exit_code == 1 and "stop it before restoring" in result.output
    assert not (target.settings.data_dir / "dockyard.db").exists()
