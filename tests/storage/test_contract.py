"""The one storage contract, run unchanged against every driver (never skipped)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.storage import BlobStore
from dockyard.storage.filesystem import FilesystemStore
from dockyard.storage.s3 import S3Store, Target
from tests.storage.conformance import BlobStoreContract
from tests.support.seaweed import SeaweedS3


def s3_store(seaweed: SeaweedS3, **options: object) -> S3Store:
    """A driver on the shared test bucket, under a prefix of its own (a fresh, empty store)."""
    target = Target(
        seaweed.endpoint, seaweed.bucket, seaweed.region, seaweed.access_key, seaweed.secret_key
    )
    return S3Store(target, prefix=f"t-{uuid.uuid4().hex[:12]}", **options)  # type: ignore[arg-type]


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "filesystem":
        yield FilesystemStore(tmp_path)
        return
    driver = s3_store(request.getfixturevalue("seaweed"))
    yield driver
    driver.close()


class TestBlobStore(BlobStoreContract):
    pass
