"""What online garbage collection deletes and what it keeps, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from dockyard.admin.registry import RegistryAdmin
from dockyard.db.models import GcLinkReview, GcManifestReview, Scan
from dockyard.db.queries import gc as gc_rows
from dockyard.db.queries import management
from dockyard.db.queries import scans as scan_rows
from dockyard.oci.digest import digest_bytes
from dockyard.registry.gc import Removed
from dockyard.workers.runner import delete_due_repositories
from tests.gc.conftest import Env
from tests.http.oci_helpers import (
    OCI_MANIFEST,
    Pushed,
    blob_url,
    manifest_url,
    push_blob,
    push_image,
    push_index,
)


def push_config_only(env: Env, repository: str, image: Pushed) -> str:
    """Push, tagged ``shared``, an image with no layers and ``image``'s config; its digest."""
    push_blob(env.client, repository, image.blobs[image.config["digest"]])
    body = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": image.config, "layers": []}
    ).encode()
    put = env.client.put(
        manifest_url(repository, "shared"), content=body, headers={"Content-Type": OCI_MANIFEST}
    )
    assert put.status_code == 201, put.text
    return str(digest_bytes(body))


def test_an_untagged_image_goes_with_its_own_blobs_and_shared_ones_stay(env: Env) -> None:
    old = push_image(env.client, "gc/app", "v1")
    new = push_image(env.client, "gc/app", "v1")  # moves the tag: old is untagged now
    # another repository's image uses the old image's config: it must stay there
    shared = push_config_only(env, "gc/other", old)

    removed = env.collector().run()

    assert removed.manifests == 1 and removed.manifest_bytes == old.size
    assert not env.manifest_row("gc/app", old.digest)
    assert env.manifest_row("gc/app", new.digest)
    assert env.manifest_row("gc/other", shared)
    only_old = [d for d in old.blobs if d != old.config["digest"]]
    assert removed.blobs == len(only_old)
    assert removed.blob_bytes == sum(len(old.blobs[d]) for d in only_old)
    for digest in only_old:
        assert not env.blob_row(digest) and not env.stored(digest)
    assert env.client.head(blob_url("gc/app", old.config["digest"])).status_code == 404
    assert env.client.head(blob_url("gc/other", old.config["digest"])).status_code == 200
    for digest in new.blobs:
        assert env.client.get(blob_url("gc/app", digest)).content == new.blobs[digest]
    env.consistent()


def test_nothing_goes_before_the_delay_unless_asked(make_env: Callable[..., Env]) -> None:
    env = make_env(gc_review_delay_seconds=3600)
    old = push_image(env.client, "gc/app", "v1")
    push_image(env.client, "gc/app", "v1")
    assert env.collector().run().manifests == 0
    assert env.manifest_row("gc/app", old.digest)
    removed = env.collector().run(now=True)
    assert removed.manifests == 1 and removed.blobs == len(old.blobs)
    env.consistent()


def test_indexes_keep_their_children_and_subjects_keep_their_referrers(env: Env) -> None:
    amd = push_image(env.client, "gc/multi")  # by digest: untagged from the start
    arm = push_image(env.client, "gc/multi")
    index = push_index(env.client, "gc/multi", [amd, arm], "v1")
    signature = push_image(
        env.client, "gc/multi", subject=index.descriptor(), artifact_type="application/x-sig"
    )
    lone = push_image(env.client, "gc/multi")  # by digest, nothing keeps it

    removed = env.collector().run()

    assert removed.manifests == 1 and not env.manifest_row("gc/multi", lone.digest)
    for kept in (amd, arm, index, signature):
        assert env.manifest_row("gc/multi", kept.digest)

    # Untagging the index takes the whole tree: the index, its children, the signature.
    assert env.client.delete(manifest_url("gc/multi", "v1")).status_code == 202
    removed = env.collector().run()
    assert removed.manifests == 4
    for gone in (amd, arm, index, signature):
        assert not env.manifest_row("gc/multi", gone.digest)
    assert removed.blobs == len(amd.blobs) + len(arm.blobs) + len(signature.blobs)
    env.consistent()


def test_a_push_that_references_a_candidate_takes_it_out_of_the_queue(env: Env) -> None:
    data = os.urandom(300)
    digest = push_blob(env.client, "gc/app", data)  # uploaded, no manifest yet
    with env.db.session() as conn:
        queued = conn.scalars(select(GcLinkReview.digest)).all()
    assert digest in queued
    image = push_image(env.client, "gc/app", "v1")
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest,
             "size": len(data)}  # fmt: skip
    body = json.loads(image.body)
    body["layers"].append(layer)
    raw = json.dumps(body).encode()
    put = env.client.put(
        manifest_url("gc/app", "v2"), content=raw, headers={"Content-Type": OCI_MANIFEST}
    )
    assert put.status_code == 201, put.text
    with env.db.session() as conn:
        assert digest not in conn.scalars(select(GcLinkReview.digest)).all()
    env.collector().run(now=True)
    assert env.client.get(blob_url("gc/app", digest)).content == data


def test_a_blob_pushed_but_never_used_is_collected(env: Env) -> None:
    data = os.urandom(100)
    digest = push_blob(env.client, "gc/app", data)
    removed = env.collector().run()
    assert (removed.blob_links, removed.blobs, removed.blob_bytes) == (1, 1, 100)
    assert not env.stored(digest)
    env.consistent()


def test_untagged_manifests_stay_when_the_setting_says_so(make_env: Callable[..., Env]) -> None:
    env = make_env(gc_untagged_manifests=False)
    old = push_image(env.client, "gc/app", "v1")
    push_image(env.client, "gc/app", "v1")
    assert env.collector(untagged=False).run().manifests == 0
    assert env.manifest_row("gc/app", old.digest)
    # an explicitly deleted manifest still frees its blobs
    assert env.client.delete(manifest_url("gc/app", old.digest)).status_code == 202
    removed = env.collector(untagged=False).run()
    assert removed.blobs == len(old.blobs)
    env.consistent()


def test_a_deleted_repository_frees_what_only_it_held(env: Env) -> None:
    gone = push_image(env.client, "gc/gone", "v1")
    kept = push_image(env.client, "gc/kept", "v1")
    push_config_only(env, "gc/kept", gone)
    with env.db.session() as conn:
        repository_id = management.repository_id(conn, "gc/gone")
    RegistryAdmin(env.db, env.store).schedule_delete(repository_id)
    assert delete_due_repositories(env.db, timedelta(0)) == 1
    removed = env.collector().run()
    assert removed.blobs == len(gone.blobs) - 1
    assert env.stored(gone.config["digest"]) and all(env.stored(d) for d in kept.blobs)
    env.consistent()


def test_a_collected_manifest_takes_its_scan_along(env: Env) -> None:
    old = push_image(env.client, "gc/app", "v1")
    push_image(env.client, "gc/app", "v1")
    with env.db.session(write=True) as conn:
        scan_rows.request_scan(conn, "gc/app", old.digest)
    env.collector().run()
    with env.db.session() as conn:
        assert conn.scalar(select(Scan.digest).where(Scan.digest == old.digest)) is None


def test_a_crash_between_row_and_bytes_is_finished_by_the_next_pass(env: Env) -> None:
    digest = push_blob(env.client, "gc/app", os.urandom(50))
    # Everything but the storage step, as a crash right after the row's commit leaves it.
    env.collector()._cycle(None, Removed(), True, None, storage=False)
    assert not env.blob_row(digest) and env.stored(digest)
    removed = env.collector().run()
    assert not env.stored(digest) and removed.blobs == 0
    env.consistent()


def test_orphan_bytes_are_found_and_removed(env: Env) -> None:
    data = os.urandom(80)
    digest = digest_bytes(data)
    upload = str(uuid.uuid4())
    env.store.begin_upload(upload)
    writer = env.store.append(upload, 0)
    writer.write(data)
    writer.close()
    env.store.commit(upload, digest)  # bytes with no row: what a crash could leave
    kept = push_blob(env.client, "gc/app", os.urandom(40))
    assert env.collector().orphans(dry_run=True) == (1, 80)
    assert env.stored(str(digest))
    assert env.collector().orphans() == (1, 80)
    assert not env.stored(str(digest)) and env.stored(kept)


def test_a_dry_run_says_what_would_go_and_changes_nothing(env: Env) -> None:
    old = push_image(env.client, "gc/app", "v1")
    push_image(env.client, "gc/app", "v1")
    seen = env.collector().run(dry_run=True)
    assert seen.manifests == 1 and seen.blobs == len(old.blobs)
    assert env.manifest_row("gc/app", old.digest)
    assert all(env.stored(d) and env.blob_row(d) for d in old.blobs)
    with env.db.session() as conn:
        assert conn.scalar(select(GcManifestReview.digest)) == old.digest
    assert env.collector().run().manifests == 1


def test_a_sweep_queues_what_no_event_did(env: Env) -> None:
    old = push_image(env.client, "gc/app", "v1")
    push_image(env.client, "gc/app", "v1")
    with env.db.session(write=True) as conn:  # as if pushed before collection existed
        for table in (GcManifestReview, GcLinkReview):
            conn.execute(table.__table__.delete())
    assert env.collector().run().manifests == 0
    queued = env.collector().sweep(delay=timedelta(0))
    assert queued >= 1
    removed = env.collector().run()
    assert removed.manifests == 1 and removed.blobs == len(old.blobs)
    env.consistent()
    with env.db.session() as conn:
        assert gc_rows.queue_sizes(conn) == {"manifests": 0, "links": 0, "blobs": 0, "storage": 0}


def test_a_gentle_pass_in_transactions_of_one_object_removes_the_same(env: Env) -> None:
    """The server's child steers batch sizes down to a single object when transactions
    are slow; collection stays complete, and the pace hears of every write transaction."""
    old = push_image(env.client, "gc/app", "v1")
    push_image(env.client, "gc/app", "v1")
    holds: list[float] = []
    collector = env.collector(pace=holds.append, max_hold=1e-9)  # every batch is "too slow"

    removed = collector.run()

    assert removed.manifests == 1 and removed.blobs == len(old.blobs)
    # a transaction per object and phase (the claims do not rest), and per stored blob
    assert len(holds) >= 1 + 3 * len(old.blobs)
    assert all(h >= 0 for h in holds)
    env.consistent()


def test_batch_sizes_follow_the_average_hold_not_one_slow_commit(env: Env) -> None:
    collector = env.collector(batch=100, max_hold=0.010)
    for _ in range(40):
        collector._resize("blobs", 0.001)  # quick transactions: batches grow to the cap
    assert collector._size("blobs") == 100
    collector._resize("blobs", 0.030)  # one slow commit (a checkpoint) changes nothing
    assert collector._size("blobs") == 100
    for _ in range(20):
        collector._resize("blobs", 0.050)  # steadily slow: they shrink, to one at least
    assert collector._size("blobs") == 1
    assert collector._size("manifests") == 1  # a phase starts small and grows


def test_a_pass_with_a_time_limit_stops_between_batches_and_the_next_goes_on(env: Env) -> None:
    old = push_image(env.client, "gc/app", "v1")
    push_image(env.client, "gc/app", "v1")
    collector = env.collector(batch=1)

    first = collector.run(seconds=0)  # out of time after one batch of each phase
    assert first.manifests == 1 and first.blob_links <= 1 and first.blobs <= 1
    rest = collector.run()
    assert rest.blobs >= 1 and first.blobs + rest.blobs == len(old.blobs)
    env.consistent()
