"""Garbage collection and `dockyard check` over the S3 driver: they reach the bucket only
through the seam (iter_digests, detach/purge, iter_strays, ...), so the same rules hold."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from dockyard.admin.integrity import check_integrity
from tests.gc.conftest import Env
from tests.http.oci_helpers import manifest_url, push_blob, push_image
from tests.http.test_s3_storage import s3_settings
from tests.support.seaweed import SeaweedS3


def s3_env(make_env: Callable[..., Env], seaweed: SeaweedS3) -> Env:
    return make_env(**s3_settings(seaweed, f"gc-{uuid.uuid4().hex[:10]}"))


def test_collection_deletes_unreferenced_blobs_from_the_bucket(
    make_env: Callable[..., Env], seaweed: SeaweedS3
) -> None:
    env = s3_env(make_env, seaweed)
    old = push_image(env.client, "gc/app", "v1")
    new = push_image(env.client, "gc/app", "v1")  # old loses its tag
    removed = env.collector().run()
    assert removed.manifests == 1
    gone = [d for d in old.blobs if d not in new.blobs]
    assert gone and not any(env.stored(d) for d in gone)
    assert all(env.stored(d) for d in new.blobs)
    env.consistent()
    assert env.store.purge_detached() == 0  # detached copies were purged, not left behind
    resp = env.client.get(manifest_url("gc/app", "v1"), headers={"Accept": new.media_type})
    assert resp.status_code == 200


def test_check_finds_debris_and_missing_bytes_in_the_bucket(
    make_env: Callable[..., Env], seaweed: SeaweedS3
) -> None:
    env = s3_env(make_env, seaweed)
    digest = push_blob(env.client, "chk/app", b"kept bytes")
    lost = push_blob(env.client, "chk/app", b"bytes that vanish")
    root = env.store.keys.root  # type: ignore[attr-defined]
    client = seaweed.client()
    client.put_object(Bucket=seaweed.bucket, Key=f"{root}blobs/sha256/zz/junk", Body=b"x")
    client.delete_object(Bucket=seaweed.bucket, Key=f"{root}blobs/sha256/{lost[7:9]}/{lost[7:]}")
    report = check_integrity(env.db, env.store)
    kinds = {(f.kind, f.subject) for f in report.findings}
    assert ("missing", lost) in kinds
    assert ("orphaned", "blobs/sha256/zz/junk") in kinds
    assert not any(subject == digest for _, subject in kinds)
    check_integrity(env.db, env.store, repair=True)
    assert list(env.store.iter_strays()) == []
