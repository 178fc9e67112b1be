"""What only the S3 driver has: its commit paths, constant memory both ways, its
errors (bad keys), debris, presigned URLs; all against a real S3 server (SeaweedFS)."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest

from dockyard.oci.digest import Digest, digest_bytes
from dockyard.storage import StorageError, StorageUnavailable
from dockyard.storage.s3 import S3Store, Target
from tests.storage.conformance import new_id, upload
from tests.storage.test_contract import s3_store
from tests.support.seaweed import SeaweedS3

MiB = 1024 * 1024


@pytest.fixture
def store(seaweed: SeaweedS3) -> Iterator[S3Store]:
    driver = s3_store(seaweed, part_size=5 * MiB)
    yield driver
    driver.close()


def push(store: S3Store, pieces: list[bytes]) -> Digest:
    """One append per piece (as one request each), then a commit; the digest."""
    upload_id = new_id()
    store.begin_upload(upload_id)
    offset = 0
    for piece in pieces:
        writer = store.append(upload_id, offset)
        writer.write(piece)
        writer.close()
        offset += len(piece)
    digest = digest_bytes(b"".join(pieces))
    store.commit(upload_id, digest)
    return digest


def test_one_segment_is_copied(store: S3Store) -> None:
    data = os.urandom(3 * MiB)
    digest = push(store, [data])
    assert store.last_commit == "copy"
    assert b"".join(store.read(digest)) == data


def test_big_segments_are_copied_part_by_part(store: S3Store) -> None:
    data = os.urandom(12 * MiB)  # one request: segments of 5, 5 and 2 MiB
    digest = push(store, [data])
    assert store.last_commit == "part-copy"
    assert hashlib.sha256(b"".join(store.read(digest))).hexdigest() == digest.hex
    assert list(store.iter_uploads()) == []  # the segments went with the session


def test_small_segments_are_rewritten(store: S3Store) -> None:
    pieces = [os.urandom(MiB + n) for n in range(7)]  # chunked push: 1 MiB segments
    digest = push(store, pieces)
    assert store.last_commit == "rewrite"
    assert b"".join(store.read(digest)) == b"".join(pieces)


def test_an_empty_blob(store: S3Store) -> None:
    digest = push(store, [])
    assert store.last_commit == "empty"
    assert store.stat(digest) == 0 and b"".join(store.read(digest)) == b""


def test_a_blob_over_the_copy_limit_is_detached_in_ranges(
    store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 copies at most 5 GiB in one request; a bigger blob is detached by ranged part
    copies (the limits shrunk here so a small blob takes that path)."""
    from dockyard.storage.s3 import assemble

    data = os.urandom(13 * MiB)
    digest = push(store, [data])
    monkeypatch.setattr(assemble, "MAX_COPY", 8 * MiB)
    monkeypatch.setattr(assemble, "COPY_RANGE", 5 * MiB)
    token = store.detach(digest)
    assert token is not None and store.stat(digest) is None
    copy = store.keys.detached_key(token)
    assert b"".join(store.s3.stream(copy)) == data
    store.purge(token)
    assert store.purge_detached() == 0


def test_truncate_cuts_inside_a_stored_segment(store: S3Store) -> None:
    data = os.urandom(11 * MiB)
    upload_id, _ = upload(store, data)
    store.truncate(upload_id, 7 * MiB + 3)  # inside the second 5 MiB segment
    assert store.upload_size(upload_id) == 7 * MiB + 3
    assert b"".join(store.read_upload(upload_id)) == data[: 7 * MiB + 3]


def test_ranged_reads_across_segments_of_a_big_blob(store: S3Store) -> None:
    data = os.urandom(12 * MiB)
    digest = push(store, [data])
    for start, length in ((0, 1), (5 * MiB - 10, 20), (12 * MiB - 1, 1), (3, 9 * MiB)):
        assert b"".join(store.read(digest, start, length)) == data[start : start + length]
    assert b"".join(store.read(digest, 12 * MiB)) == b""  # from the very end: nothing
    with pytest.raises(StorageError):
        store.read(digest_bytes(b"absent"), 0, 10)


def test_memory_stays_flat_for_a_200_mib_blob(seaweed: SeaweedS3) -> None:
    """200 MiB up through one writer, committed, and down again: Python allocations
    stay within a few parts (5 MiB each), nowhere near the blob's size."""
    store = s3_store(seaweed, part_size=5 * MiB)
    upload_id, hasher, size = new_id(), hashlib.sha256(), 200 * MiB
    block = os.urandom(MiB)
    tracemalloc.start()
    try:
        store.begin_upload(upload_id)
        writer = store.append(upload_id, 0)
        for n in range(size // MiB):
            chunk = bytes([n % 256]) + block[1:]
            hasher.update(chunk)
            writer.write(chunk)
        writer.close()
        digest = Digest("sha256", hasher.hexdigest())
        store.commit(upload_id, digest)
        _, peak_up = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        before_down, _ = tracemalloc.get_traced_memory()
        check, read = hashlib.sha256(), 0
        for chunk in store.read(digest):
            check.update(chunk)
            read += len(chunk)
        _, peak_down = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        store.close()
    assert read == size and check.hexdigest() == digest.hex
    assert peak_up < 40 * MiB, f"upload peaked at {peak_up / MiB:.0f} MiB"
    grown = peak_down - before_down
    assert grown < 16 * MiB, f"download grew by {grown / MiB:.0f} MiB"


def test_wrong_keys_are_a_clear_error(seaweed: SeaweedS3) -> None:
    target = Target(seaweed.endpoint, seaweed.bucket, seaweed.region, "nobody", "wrong-secret")
    store = S3Store(target)
    try:
        for call in (store.check, lambda: store.begin_upload(new_id())):
            with pytest.raises(StorageUnavailable, match="refused our credentials"):
                call()
        with pytest.raises(StorageUnavailable, match="refused our credentials"):
            store.stat(digest_bytes(b"x"))
    finally:
        store.close()


def test_a_missing_bucket_is_a_clear_error(seaweed: SeaweedS3) -> None:
    target = Target(
        seaweed.endpoint,
        "no-such-bucket-here",
        seaweed.region,
        seaweed.access_key,
        seaweed.secret_key,
    )
    store = S3Store(target)
    try:
        with pytest.raises(StorageUnavailable, match="no-such-bucket-here"):
            store.check()
        with pytest.raises(StorageUnavailable, match="no-such-bucket-here"):
            store.stat(digest_bytes(b"x"))  # not "no such blob": GC must not believe that
        with pytest.raises(StorageUnavailable, match="no-such-bucket-here"):
            store.read(digest_bytes(b"x"))
    finally:
        store.close()


def test_an_unreachable_endpoint_is_a_clear_error() -> None:
    store = S3Store(Target("http://127.0.0.1:9", "bucket", "us-east-1", "k", "s"))
    try:
        with pytest.raises(StorageUnavailable, match="unreachable"):
            store.check()
    finally:
        store.close()


def test_objects_that_are_not_ours_are_debris(store: S3Store, seaweed: SeaweedS3) -> None:
    digest = push(store, [b"payload"])
    session, _ = upload(store, b"open")
    client = seaweed.client()
    for name in ("blobs/sha256/zz/notes.txt", f"uploads/{session}/partial.tmp"):
        client.put_object(Bucket=seaweed.bucket, Key=store.keys.root + name, Body=b"x")
    assert sorted(store.iter_strays()) == [
        "blobs/sha256/zz/notes.txt",
        f"uploads/{session}/partial.tmp",
    ]
    blob = f"blobs/sha256/{digest.hex[:2]}/{digest.hex}"
    for name in (blob, f"uploads/{session}/open", "other/thing"):
        with pytest.raises(StorageError):
            store.delete_stray(name)
    for name in list(store.iter_strays()):
        store.delete_stray(name)
    assert list(store.iter_strays()) == []
    assert list(store.iter_digests()) == [digest] and store.upload_size(session) == 4


def test_presigned_urls_serve_the_blob_and_expire(seaweed: SeaweedS3) -> None:
    store = s3_store(seaweed, redirect_ttl=60)
    plain = s3_store(seaweed)
    try:
        digest = push(store, [b"fetched straight from S3"])
        url = store.redirect_url(digest)
        assert url is not None and url.startswith(seaweed.endpoint)
        assert "X-Amz-Expires=60" in url
        assert httpx.get(url).content == b"fetched straight from S3"
        assert plain.redirect_url(digest) is None  # s3_redirect off
        tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=6000")
        assert httpx.get(tampered).status_code == 403
    finally:
        store.close()
        plain.close()
