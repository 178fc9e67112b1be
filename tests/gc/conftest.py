"""A registry (auth off, no background loops) with its database, store and collector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.models import Blob, GcStorageDelete, Manifest, RepositoryBlob
from dockyard.http.app import create_app
from dockyard.oci.digest import parse_digest
from dockyard.registry.gc import Collector
from dockyard.storage import BlobStore, open_store


@dataclass
class Env:
    client: TestClient
    db: Database
    store: BlobStore
    settings: Settings

    def collector(self, **kwargs: Any) -> Collector:
        return Collector(self.db, self.store, **kwargs)

    def stored(self, digest: str) -> bool:
        return self.store.stat(parse_digest(digest)) is not None

    def blob_row(self, digest: str) -> bool:
        with self.db.session() as conn:
            return conn.scalar(select(func.count()).where(Blob.digest == digest)) == 1

    def manifest_row(self, repository: str, digest: str) -> bool:
        from dockyard.db.models import Repository

        with self.db.session() as conn:
            stmt = (
                select(func.count())
                .select_from(Manifest)
                .join(Repository, Repository.id == Manifest.repository_id)
                .where(Repository.name == repository, Manifest.digest == digest)
            )
            return conn.scalar(stmt) == 1

    def consistent(self) -> None:
        """Every blob row has its bytes; every linked or referenced blob has a row; no
        bytes are left that no row or pending tombstone names."""
        with self.db.session() as conn:
            rows = set(conn.scalars(select(Blob.digest)))
            linked = set(conn.scalars(select(RepositoryBlob.digest)))
            pending = set(conn.scalars(select(GcStorageDelete.digest)))
        on_disk = {str(d) for d in self.store.iter_digests()}
        assert rows <= on_disk, f"rows without bytes: {rows - on_disk}"
        assert linked <= rows
        assert on_disk <= rows | pending, f"orphan bytes: {on_disk - rows - pending}"


@pytest.fixture
def make_env(
    backend: str, tmp_path_factory: pytest.TempPathFactory, postgres_url: Callable[[], str]
) -> Iterator[Callable[..., Env]]:
    opened: list[Env] = []

    def build(**overrides: Any) -> Env:
        url = postgres_url() if backend == "postgres" else ""
        settings = Settings(
            data_dir=tmp_path_factory.mktemp("gc"),
            database_url=url,
            auth="none",
            scan_on_push=False,
            **{"gc_review_delay_seconds": 0, "gc_upload_grace_seconds": 0, **overrides},
        )
        client = TestClient(create_app(settings))
        client.__enter__()
        env = Env(client, Database(settings.effective_database_url), open_store(settings), settings)
        opened.append(env)
        return env

    yield build
    for env in opened:
        env.client.__exit__(None, None, None)
        env.db.dispose()


@pytest.fixture
def env(make_env: Callable[..., Env]) -> Env:
    return make_env()
