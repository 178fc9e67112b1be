"""SQLite write transactions that arrive together share one commit, and each caller still
gets exactly its own outcome: its result once the commit holding its change is done, or
its own error with nothing of it kept."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text

from dockyard.db.engine import Database

WRITERS = 16


@pytest.fixture
def db(tmp_path: Path):  # noqa: ANN201
    database = Database(f"sqlite:///{tmp_path}/d.db")
    with database.session(write=True) as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY, note VARCHAR(10))"))
    yield database
    database.dispose()


def commits_of(db: Database) -> list[int]:
    counted = [0]

    @event.listens_for(db.engine, "commit")
    def count(_conn) -> None:  # type: ignore[no-untyped-def]
        counted[0] += 1

    return counted


def run_together(db: Database, works: list) -> list:  # noqa: ANN001
    """Start every work at once from its own thread; each one's result or exception."""
    outcomes: list = [None] * len(works)
    start = threading.Barrier(len(works))

    def one(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = db.transact(works[i])
        except Exception as error:  # collected for the test to look at
            outcomes[i] = error

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def insert(x: int):  # noqa: ANN201
    def work(conn) -> int:  # noqa: ANN001
        conn.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": x})
        return x * 10

    return work


def rows(db: Database) -> list[int]:
    with db.session() as conn:
        return [r[0] for r in conn.execute(text("SELECT x FROM t ORDER BY x"))]


def test_concurrent_writers_share_commits_and_get_their_own_results(db: Database) -> None:
    commits = commits_of(db)
    slow = threading.Event()

    def first(conn) -> int:  # noqa: ANN001 - holds the writer so the rest queue up
        conn.execute(text("INSERT INTO t (x) VALUES (0)"))
        slow.wait(5)
        return 0

    leader = threading.Thread(target=db.transact, args=(first,))
    leader.start()
    outcomes: list = []
    waiting = threading.Thread(
        target=lambda: outcomes.extend(run_together(db, [insert(i) for i in range(1, WRITERS)]))
    )
    waiting.start()
    threading.Timer(0.3, slow.set).start()
    leader.join(10)
    waiting.join(30)
    assert outcomes == [i * 10 for i in range(1, WRITERS)]
    assert rows(db) == list(range(WRITERS))
    assert commits[0] < WRITERS / 2  # queued behind the first, the rest shared a commit


def test_a_failing_transaction_keeps_nothing_and_spoils_nothing_else(db: Database) -> None:
    def fails(conn) -> None:  # noqa: ANN001
        conn.execute(text("INSERT INTO t (x) VALUES (100)"))
        raise ValueError("refused by a rule")

    def duplicate(conn) -> None:  # noqa: ANN001 - breaks a constraint: the driver refuses
        conn.execute(text("INSERT INTO t (x) VALUES (1000)"))

    db.transact(insert(1000))
    outcomes = run_together(db, [insert(1), fails, insert(2), duplicate, insert(3)])
    assert outcomes[0] == 10 and outcomes[2] == 20 and outcomes[4] == 30
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "refused by a rule"
    assert "UNIQUE constraint failed" in str(outcomes[3])
    assert rows(db) == [1, 2, 3, 1000]


def test_a_change_is_committed_when_transact_returns(db: Database) -> None:
    def work(conn) -> str:  # noqa: ANN001
        conn.execute(text("INSERT INTO t (x) VALUES (7)"))
        return "done"

    assert db.transact(work) == "done"
    other = Database(db.url)  # another connection pool, as another process would read
    with other.session() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalar() == 7
    other.dispose()


def test_when_the_commit_fails_every_caller_of_the_group_hears_it(db: Database) -> None:
    failed = []

    @event.listens_for(db.engine, "commit")
    def disk_full(_conn) -> None:  # type: ignore[no-untyped-def]
        if not failed:
            failed.append(True)
            raise OSError("disk full")

    outcomes = run_together(db, [insert(1), insert(2), insert(3)])
    assert all(isinstance(o, (OSError, int)) for o in outcomes)
    refused = [o for o in outcomes if isinstance(o, OSError)]
    assert refused  # the group whose commit failed: none of them was told "done"
    kept = [o // 10 for o in outcomes if isinstance(o, int)]
    assert rows(db) == sorted(kept)  # and exactly the others are stored
