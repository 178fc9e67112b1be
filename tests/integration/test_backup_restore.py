"""Back up a live registry while pushes go on, wipe it, restore, and pull with skopeo."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.clients import (
    OCI_CONFIG,
    OCI_LAYER_TAR,
    OCI_MANIFEST,
    ClientSandbox,
    LayoutImage,
    get_manifest,
    new_http,
    push_blob,
    put_manifest,
    sha256_digest,
)
from tests.integration.conftest import LiveServer, _database_url

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def keep_pushing(server: LiveServer, stop: threading.Event, pushed: list[str]) -> None:
    """Push small images (blobs, then a manifest) until told to stop."""
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    with new_http(server.url) as http:
        n = 0
        while not stop.is_set():
            layer = os.urandom(64 * 1024)
            push_blob(http, "busy/app", layer)
            push_blob(http, "busy/app", config)
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {
                        "mediaType": OCI_CONFIG,
                        "digest": sha256_digest(config),
                        "size": len(config),
                    },
                    "layers": [
                        {
                            "mediaType": OCI_LAYER_TAR,
                            "digest": sha256_digest(layer),
                            "size": len(layer),
                        }
                    ],
                }
            ).encode()
            resp = put_manifest(http, "busy/app", f"t{n}", manifest, OCI_MANIFEST)
            assert resp.status_code == 201, resp.text
            pushed.append(f"t{n}")
            n += 1


def backup_while_pushing(server: LiveServer, backup: Path) -> tuple[dict, list[str]]:
    """Run `dockyard backup --with-blobs` and `dockyard check` while pushes go on."""
    stop, pushed = threading.Event(), []
    pusher = threading.Thread(target=keep_pushing, args=(server, stop, pushed))
    pusher.start()
    try:
        while len(pushed) < 3:
            assert pusher.is_alive()
            threading.Event().wait(0.05)
        out = server.cli("backup", str(backup), "--with-blobs", "--output", "json")
        server.cli("check")  # asserts exit 0: pushes in flight are not taken for damage
        after = len(pushed) + 2
        while len(pushed) < after:
            assert pusher.is_alive()
            threading.Event().wait(0.05)
    finally:
        stop.set()
        pusher.join(60)
    return json.loads(out), pushed


def test_backup_during_pushes_then_restore_and_pull(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tiny_image: LayoutImage,
    postgres_url: Callable[[], str],
) -> None:
    root = tmp_path_factory.mktemp("backup-server")
    server = LiveServer("dockyard", root, _database_url(request))
    server.start()
    try:
        sandbox = ClientSandbox(server.host, root / "clients")
        digestfile = root / "digest"
        sandbox.skopeo_copy(
            tiny_image.ref, sandbox.docker_ref("keep/app", "v1"), "--digestfile", str(digestfile)
        )
        digest = digestfile.read_text().strip()

        backup = root / "backup"
        taken, pushed = backup_while_pushing(server, backup)
        assert taken["blobs_copied"] >= taken["blob_count"] > 2
        server.stop()

        # Lose everything, then restore the backup into the empty place.
        shutil.rmtree(server.data_dir)
        server.data_dir.mkdir()
        if server.database_url.startswith("postgresql"):
            server.database_url = postgres_url()
        restored = server.cli("restore", str(backup))
        assert "blobs restored" in restored
        server.cli("check")  # asserts exit 0: every recorded blob is there and whole
        server.start()

        assert sandbox.inspect("keep/app", "v1")["Digest"] == digest
        pulled = root / "pulled"
        sandbox.skopeo_copy(
            sandbox.docker_ref("keep/app", "v1"), f"oci:{pulled}:v1", "--preserve-digests"
        )
        index = json.loads((pulled / "index.json").read_text())
        assert index["manifests"][0]["digest"] == digest
        # Every image the backup caught mid-push is complete: its blobs came along.
        with new_http(server.url) as http:
            caught = [t for t in pushed if get_manifest(http, "busy/app", t).status_code == 200]
            assert caught, "the backup holds none of the images pushed before it"
            assert len(caught) < len(pushed), "pushes after the backup are not in it"
            for tag in caught:
                manifest = get_manifest(http, "busy/app", tag).json()
                layer = manifest["layers"][0]["digest"]
                assert http.head(f"/v2/busy/app/blobs/{layer}").status_code == 200
    finally:
        server.stop()
    assert "Traceback" not in server.log()
