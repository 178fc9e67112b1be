"""Two server processes on one SQLite database (as Granian's workers are): what one
changes, the other answers at once, although both answer repeated reads from memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.http.app import create_app
from tests.http.oci_helpers import (
    OCI_MANIFEST,
    blob_url,
    manifest_url,
    push_image,
    push_random_blob,
)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    settings = Settings(data_dir=tmp_path, auth="none")
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        yield first, second


def test_blob_deleted_by_one_worker_is_gone_from_the_other(workers) -> None:  # noqa: ANN001
    first, second = workers
    _data, digest = push_random_blob(first, "cache/blobs")
    for _ in range(3):  # the second worker now holds the answer
        assert second.head(blob_url("cache/blobs", digest)).status_code == 200
    assert first.delete(blob_url("cache/blobs", digest)).status_code == 202
    assert second.head(blob_url("cache/blobs", digest)).status_code == 404
    assert second.get(blob_url("cache/blobs", digest)).status_code == 404


def test_tag_moved_by_one_worker_is_seen_by_the_other(workers) -> None:  # noqa: ANN001
    first, second = workers
    accept = {"Accept": OCI_MANIFEST}
    old = push_image(first, "cache/tags", "latest")
    for _ in range(3):
        got = second.get(manifest_url("cache/tags", "latest"), headers=accept)
        assert got.headers["Docker-Content-Digest"] == old.digest
    new = push_image(first, "cache/tags", "latest")
    got = second.get(manifest_url("cache/tags", "latest"), headers=accept)
    assert got.headers["Docker-Content-Digest"] == new.digest
    assert got.content == new.body
    assert first.delete(manifest_url("cache/tags", "latest")).status_code == 202
    assert second.get(manifest_url("cache/tags", "latest"), headers=accept).status_code == 404


def test_tag_pages_come_from_memory_until_any_worker_commits(workers) -> None:  # noqa: ANN001
    first, second = workers
    push_image(first, "cache/list", "a")
    statements: list[str] = []
    db = second.app.registry_api.state.ctx.registry.manifests._db  # the second worker's

    def count(_conn, _cursor, statement, *_rest) -> None:  # noqa: ANN001
        statements.append(statement)

    for engine in db.engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        assert second.get("/v2/cache/list/tags/list").json()["tags"] == ["a"]
        read = len(statements)
        assert read > 0
        for _ in range(3):
            assert second.get("/v2/cache/list/tags/list").json()["tags"] == ["a"]
        assert len(statements) == read  # answered from memory
        push_image(first, "cache/list", "b")  # a commit by the other worker
        assert second.get("/v2/cache/list/tags/list").json()["tags"] == ["a", "b"]
        assert len(statements) > read
    finally:
        for engine in db.engines:
            event.remove(engine, "before_cursor_execute", count)
