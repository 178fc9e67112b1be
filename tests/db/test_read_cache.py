"""Hot reads answered from memory are never stale: any commit, from this process or
another, makes the next read go to the database; PostgreSQL never caches."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from dockyard.db.engine import Database
from dockyard.db.read_cache import ReadCache


@pytest.fixture
def db(tmp_path: Path):  # noqa: ANN201
    database = Database(f"sqlite:///{tmp_path}/d.db")
    with database.session(write=True) as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1, 10)"))
    yield database
    database.dispose()


def reader(db: Database) -> tuple[Callable[[], int | None], list[int]]:
    """A load function that counts its trips to the database."""
    trips = [0]

    def load() -> int | None:
        trips[0] += 1
        with db.session() as conn:
            return conn.scalar(text("SELECT v FROM t WHERE k = 1"))

    return load, trips


def write(url: str, value: int) -> None:
    other = Database(url)  # its own engine and pool, as another worker has
    with other.session(write=True) as conn:
        conn.execute(text("UPDATE t SET v = :v WHERE k = 1"), {"v": value})
    other.dispose()


def test_repeated_reads_stay_in_memory(db: Database) -> None:
    cache = ReadCache(db.data_version)
    load, trips = reader(db)
    assert [cache.get("k", load) for _ in range(5)] == [10] * 5
    assert trips[0] == 1


def test_a_commit_in_this_process_is_seen_at_once(db: Database) -> None:
    cache = ReadCache(db.data_version)
    load, trips = reader(db)
    assert cache.get("k", load) == 10
    with db.session(write=True) as conn:
        conn.execute(text("UPDATE t SET v = 11 WHERE k = 1"))
    assert cache.get("k", load) == 11
    assert trips[0] == 2


def test_a_commit_in_another_process_is_seen_at_once(db: Database) -> None:
    cache = ReadCache(db.data_version)
    load, _trips = reader(db)
    assert cache.get("k", load) == 10
    child = multiprocessing.get_context("spawn").Process(target=write, args=(db.url, 12))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert cache.get("k", load) == 12


def test_an_answer_refused_by_keep_is_not_held(db: Database) -> None:
    cache = ReadCache(db.data_version)
    load, trips = reader(db)
    for _ in range(3):
        assert cache.get("k", load, keep=lambda value: value is not None and value < 10) == 10
    assert trips[0] == 3


def test_a_full_cache_is_emptied_not_grown(db: Database) -> None:
    cache = ReadCache(db.data_version, max_entries=3)
    for key in range(10):
        cache.get(key, lambda key=key: key)
    assert len(cache) <= 3


def test_postgres_reads_always_go_to_the_database(migrated_database) -> None:  # noqa: ANN001
    database = migrated_database("postgres")
    assert database.data_version is None
    cache = ReadCache(database.data_version)
    trips = [0]

    def load() -> int:
        trips[0] += 1
        return 1

    for _ in range(3):
        cache.get("k", load)
    assert trips[0] == 3
