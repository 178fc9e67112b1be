"""The races garbage collection must never lose, interleaved on purpose, on both engines.

Each test stops one side at the worst moment (inside its transaction, after its lock),
starts the other side, checks that it waits, then lets both finish. Whatever order they
end up in, a manifest is only ever accepted with all its blobs present, and no blob row
points at missing bytes.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from dockyard.db.queries import blobs as blob_rows
from dockyard.db.queries import gc as gc_rows
from dockyard.db.queries import manifests as manifest_rows
from dockyard.oci.digest import digest_bytes, parse_digest
from dockyard.oci.errors import RegistryError
from dockyard.registry.manifests import Manifests
from dockyard.registry.uploads import Uploads
from tests.gc.conftest import Env
from tests.http.oci_helpers import OCI_MANIFEST, push_blob, push_image

WAIT = 0.5  # how long the second side must stay blocked to count as waiting


class Pause:
    """Wraps a function so its first call stops until ``go`` (the caller holds its locks)."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, after: bool = False
    ) -> None:
        self.inside, self.go = threading.Event(), threading.Event()
        original = getattr(owner, name)
        done = []

        def paused(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs) if after else None
            if not done:
                done.append(True)
                self.inside.set()
                assert self.go.wait(30)
            return result if after else original(*args, **kwargs)

        monkeypatch.setattr(owner, name, paused)


class Side(threading.Thread):
    """Run ``fn`` in a thread, keeping its result or exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None

    def run(self) -> None:
        try:
            self.result = self.fn()
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.error = error


def manifest_using(env: Env, digest: str, size: int, config: dict) -> bytes:
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": size}
    return json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
    ).encode()


def a_candidate_blob(env: Env) -> tuple[str, bytes, dict]:
    """A blob uploaded to gc/app that no manifest uses (due now), and a config that an
    image there does use."""
    image = push_image(env.client, "gc/app", "base")
    data = os.urandom(500)
    return push_blob(env.client, "gc/app", data), data, image.config


def test_collection_first_then_the_push_is_refused_not_corrupted(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest, data, config = a_candidate_blob(env)
    pause = Pause(monkeypatch, gc_rows, "delete_links")  # GC holds the link, decided to go
    collector = Side(lambda: env.collector().run())
    collector.start()
    assert pause.inside.wait(30)
    manifests = Manifests(env.db, 4 * 1024 * 1024)
    body = manifest_using(env, digest, len(data), config)
    push = Side(lambda: manifests.put("gc/app", "v1", body, OCI_MANIFEST))
    push.start()
    push.join(WAIT)
    assert push.is_alive(), "the push did not wait for the collector's lock"
    pause.go.set()
    collector.join(30)
    push.join(30)
    assert collector.error is None
    assert isinstance(push.error, RegistryError), push.result
    assert push.error.code.name == "MANIFEST_BLOB_UNKNOWN"  # the client uploads it again
    assert not env.stored(digest)
    env.consistent()


def test_push_first_then_the_collector_keeps_the_blob(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest, data, config = a_candidate_blob(env)
    pause = Pause(monkeypatch, manifest_rows, "store")  # the push checked its blobs, holds them
    manifests = Manifests(env.db, 4 * 1024 * 1024)
    body = manifest_using(env, digest, len(data), config)
    push = Side(lambda: manifests.put("gc/app", "v1", body, OCI_MANIFEST))
    push.start()
    assert pause.inside.wait(30)
    collector = Side(lambda: env.collector().run())
    collector.start()
    # PostgreSQL: the collector skips the link the push holds and leaves its review for
    # a later round; SQLite: it waits for the push's write transaction.
    collector.join(WAIT)
    pause.go.set()
    push.join(30)
    collector.join(30)
    assert push.error is None and collector.error is None
    assert collector.result.blobs == 0
    assert env.collector().run(now=True).blobs == 0  # referenced now: kept for good
    assert env.client.get(f"/v2/gc/app/blobs/{digest}").content == data
    assert env.client.get("/v2/gc/app/manifests/v1").content == body
    env.consistent()


def test_an_upload_of_a_digest_whose_bytes_are_being_deleted_survives(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(700)
    digest = push_blob(env.client, "gc/app", data)  # unused: collected down to its bytes
    pause = Pause(monkeypatch, gc_rows, "existing_blobs")  # storage step, digest locked
    collector = Side(lambda: env.collector().run())
    collector.start()
    assert pause.inside.wait(30)

    uploads = Uploads(env.db, env.store)

    def upload_again() -> int:
        status = uploads.start("gc/again")
        writer = env.store.append(status.id, 0)
        writer.write(data)
        writer.close()
        return uploads.finish(status, digest_bytes(data))

    upload = Side(upload_again)
    upload.start()
    upload.join(WAIT)
    assert upload.is_alive(), "the upload did not wait for the digest's lock"
    pause.go.set()
    collector.join(30)
    upload.join(30)
    assert collector.error is None and upload.error is None
    assert env.blob_row(digest) and env.stored(digest)
    assert env.client.get(f"/v2/gc/again/blobs/{digest}").content == data
    env.consistent()


def test_a_mount_of_a_blob_collected_meanwhile_falls_back_to_an_upload(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = push_blob(env.client, "gc/app", os.urandom(300))
    pause = Pause(monkeypatch, blob_rows, "linked_size", after=True)  # the mount saw the link
    uploads = Uploads(env.db, env.store)
    mount = Side(lambda: uploads.mount("gc/mounted", parse_digest(digest), "gc/app", any))
    mount.start()
    assert pause.inside.wait(30)
    removed = env.collector().run()  # the link, the row and the bytes all go meanwhile
    assert removed.blobs == 1
    pause.go.set()
    mount.join(30)
    assert mount.error is None and mount.result is None  # not mounted: the client uploads
    assert env.client.head(f"/v2/gc/mounted/blobs/{digest}").status_code == 404
    env.consistent()
