"""PostgreSQL connections: reads on an autocommit, read-only pool; a bounded pool that
never churns; idle connections checked before use. Against the real local server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import text

from dockyard.db import engine as engine_module
from dockyard.db.engine import Database, WriteInReadBlock
from tests.conftest import PG_ADMIN_URL


@pytest.fixture
def database(postgres_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.2)
    database = Database(postgres_url(), pool_size=3)
    database.migrate()
    yield database
    database.dispose()


def backend_pid(database: Database, write: bool) -> int:
    with database.session(write=write) as conn:
        return conn.scalar(text("SELECT pg_backend_pid()"))


def test_a_read_block_runs_without_a_transaction_and_refuses_writes(database: Database) -> None:
    with database.session() as conn:
        assert conn.scalar(text("WITH one AS (SELECT 1 AS n) SELECT n FROM one")) == 1
        # autocommit: no transaction is open between statements (no BEGIN/COMMIT trips)
        assert conn.connection.dbapi_connection.info.transaction_status == 0  # IDLE
    for sneaked in ["CREATE TABLE sneaked_in (id int)", "  insert into jobs default values"]:
        with (
            pytest.raises(WriteInReadBlock, match="use session\\(write=True\\)"),
            database.session() as conn,
        ):
            conn.execute(text(sneaked))
    with database.session() as conn:  # the refused statements never reached the server
        assert conn.scalar(text("SELECT to_regclass('sneaked_in')")) is None
    with database.session(write=True) as conn:  # writes still go through, in a transaction
        conn.execute(text("CREATE TABLE written (id int)"))
        assert conn.connection.dbapi_connection.info.transaction_status != 0


def test_a_busy_pool_never_opens_more_than_its_size(database: Database) -> None:
    """Overflow connections were closed on return: a busy server paid a new connection
    (a backend fork) for one request in ten. Now extra callers wait for a pooled one."""
    seen: set[int] = set()
    lock = threading.Lock()

    def read_many() -> None:
        for _ in range(20):
            with database.session() as conn:
                pid = conn.scalar(text("SELECT pg_backend_pid()"))
                time.sleep(0.002)
            with lock:
                seen.add(pid)

    threads = [threading.Thread(target=read_many) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) <= 3
    in_use, capacity = database.pool_usage()
    assert in_use == 0 and capacity == 6  # 3 for reads, 3 for writes


@pytest.mark.parametrize("write", [False, True])
def test_a_connection_killed_while_idle_is_replaced_before_use(
    database: Database, write: bool
) -> None:
    """PostgreSQL restarted, or a proxy dropped an idle connection: the next request
    gets a fresh connection instead of an error."""
    first = backend_pid(database, write)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    time.sleep(0.3)  # past the idle bound: the pool checks it before handing it out
    second = backend_pid(database, write)
    assert second != first
    assert backend_pid(database, write) == second  # the fresh one is kept and reused
