"""Engines and sessions: SQLite (WAL) by default, PostgreSQL by URL.

Callers own the transaction's lifecycle: ``with database.session() as conn`` opens
one and commits it on success. Writers ask for ``write=True`` so that on SQLite the
transaction starts with BEGIN IMMEDIATE and never dead-ends upgrading a read lock.
On PostgreSQL writes are ordinary READ COMMITTED transactions; reads run on a pool of
their own in autocommit. Under READ COMMITTED every statement takes its own snapshot
anyway, so a read block sees the same rows without the BEGIN and COMMIT round trips (a
third of a manifest GET's time); a write slipped into a read block is refused, not
committed statement by statement. Queries run on Core connections (no ORM unit of
work): the hot reads cost tens of microseconds.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DataError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dockyard.db.group_commit import GroupCommit
from dockyard.db.read_cache import DataVersion
from dockyard.validation import InvalidInput

log = logging.getLogger("dockyard.db")
MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")
CHANGES = "dockyard.changes"  # Connection.info key: what this transaction changed
RETRYABLE = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
# SQLSTATE classes that mean "the server cannot serve us now": connection exceptions (08),
# insufficient resources (53: too many connections, out of memory or disk), operator
# intervention (57P01-03: shutting down, starting up).
UNAVAILABLE = ("08", "53", "57P")
POOL_TIMEOUT_SECONDS = 10.0
# A pooled PostgreSQL connection idle this long is pinged before use (one that has just
# served a request is not: pinging every checkout cost 15% of a manifest GET).
IDLE_PING_SECONDS = 2.0


def mark_changed(conn: Connection, name: str, value: int | None = None) -> None:
    """Note that this transaction changed ``name`` (a cached thing other processes must
    re-read); announced to ``Database.after_commit`` listeners once it commits."""
    changes = conn.info.get(CHANGES)
    if changes is not None:
        changes[name] = value


class TransientConflict(Exception):
    """A transaction PostgreSQL aborted to break a deadlock, still failing after retries."""


class DatabaseUnavailable(Exception):
    """The database cannot serve us now (down, full, starting, or every pooled connection
    busy past the wait): no fault of the request, so surfaces answer 503 and a retry."""


def unavailable(error: Exception) -> bool:
    """Whether ``error`` says the database is out of reach rather than refusing a query."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, OperationalError):
        return False
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is None:  # psycopg: refused or dropped before the server said anything
        return type(error.orig).__module__.startswith("psycopg")
    return sqlstate.startswith(UNAVAILABLE)


def normalise_url(url: str) -> str:
    """Pick our drivers: psycopg 3 for PostgreSQL, the stdlib for SQLite."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss (WAL synced); NORMAL: only process crashes.
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a connection that sat in the pool for ``idle_seconds`` before handing it
    out; a dead one (PostgreSQL restarted, a proxy dropped it) is replaced, so requests
    after a quiet spell never meet a broken connection. Busy connections skip the round
    trip. A failure on a busy one still invalidates the pool, as SQLAlchemy does."""

    @event.listens_for(engine, "checkin")
    def returned(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def taken(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        if time.monotonic() - record.info.get("returned", 0.0) < idle_seconds:
            return
        try:
            dbapi_connection.execute("SELECT 1")
            if not dbapi_connection.autocommit:
                dbapi_connection.rollback()  # leave no transaction open behind the ping
        except Exception as error:  # the pool discards it and connects afresh
            raise DisconnectionError(str(error)) from error


READ_VERBS = frozenset({"SELECT", "WITH", "SHOW", "VALUES"})  # (a WITH that writes slips by)


class WriteInReadBlock(RuntimeError):
    """A statement that may change rows ran in ``session()`` instead of
    ``session(write=True)``: in autocommit it would commit alone, half a change."""


def _refuse_writes(engine: Engine) -> None:
    """Let only reads through (checked here, not with PostgreSQL's
    ``default_transaction_read_only``: a startup option PgBouncer refuses, and a session
    setting that would leak to other clients through its transaction pooling)."""

    @event.listens_for(engine, "before_cursor_execute")
    def check(_conn, _cursor, statement, _parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb not in READ_VERBS:
            raise WriteInReadBlock(f"{verb} in a read block: use session(write=True)")


def _refuse_nul(engine: Engine) -> None:
    """PostgreSQL cannot hold NUL in text: say so as bad input, not as a driver crash."""

    @event.listens_for(engine, "before_cursor_execute")
    def check(_conn, _cursor, _statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        rows = parameters if isinstance(parameters, list) else [parameters]
        for row in rows:
            values = row.values() if isinstance(row, dict) else (row or ())
            if any(isinstance(v, str) and "\x00" in v for v in values):
                raise InvalidInput("text may not contain NUL characters")


def _refusal(error: Exception) -> Exception:
    """What callers see of a driver error: a value too long for its column is their input
    at fault (``InvalidInput``, answered 4xx); a server out of reach is
    ``DatabaseUnavailable`` (503); anything else stays as it is."""
    if isinstance(error, DataError):
        diag = getattr(error.orig, "diag", None)
        reason = getattr(diag, "message_primary", None) or "a value does not fit"
        return InvalidInput(f"a value was refused by the database: {reason}")
    if isinstance(error, (OperationalError, PoolTimeout)) and unavailable(error):
        log.warning("the database is unavailable: %s", error)
        return DatabaseUnavailable(str(getattr(error, "orig", error)))
    return error


class _WriterLock:
    """SQLite's one writer at a time, queued promptly across threads and processes.

    Within a process a ``threading.Lock``; across processes (server workers, the garbage
    collector's child, CLI commands) an ``flock`` on a file beside the database, which the
    kernel hands over the moment it is released. SQLite's own busy handler would instead
    sleep in growing steps (1, 2, 5, 10 ... ms), so a push that met a background
    transaction waited several times as long as that transaction held the lock.
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = f"{database}-writer.lock" if database and database != ":memory:" else None
        self._fd: int | None = None
        self._pid = 0  # a forked child must not share its parent's open file (and lock)

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            if self._path is None:
                yield
                return
            if self._fd is None or self._pid != os.getpid():
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._threads:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


class Database:
    """One engine and its sessions; built once at start-up and passed around."""

    def __init__(self, url: str, sqlite_synchronous: str = "full", pool_size: int = 16) -> None:
        if sqlite_synchronous not in ("full", "normal"):
            raise ValueError("sqlite_synchronous is 'full' or 'normal'")
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            path = make_url(self.url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                self.url,
                connect_args={"check_same_thread": False},
                pool_size=16,
                hide_parameters=True,  # errors in the log never show values (hashes, tokens)
            )
            _configure_sqlite(self.engine, sqlite_synchronous.upper())
            self.data_version = DataVersion(path) if path and path != ":memory:" else None
            writer = self.engine.execution_options(sqlite_immediate=True)
            self._write_lock = _WriterLock(path)
            self._group: GroupCommit | None = GroupCommit(
                lambda: self.session(write=True), _refusal
            )
            self._reader = self.engine
        else:
            self.engine = self._postgres(pool_size)
            writer = self.engine
            self._reader = self._postgres(pool_size, isolation_level="AUTOCOMMIT")
            _refuse_writes(self._reader)
            self.data_version = None  # PostgreSQL: no state number, read caches stay off
            self._group = None
        self._writer = writer
        # Called with {name: value} after a transaction that marked changes commits
        # (dockyard.shared tells the other replicas); never fails the caller.
        self.after_commit: list[Callable[[dict[str, int | None]], None]] = []

    def _postgres(self, pool_size: int, **options: object) -> Engine:
        """A pool of at most ``pool_size`` connections: no overflow beyond it, because
        overflow connections are closed on return and a busy server then paid a new
        connection (a backend fork) for one request in ten."""
        engine = create_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            hide_parameters=True,
            **options,
        )
        _ping_when_idle(engine, IDLE_PING_SECONDS)
        _refuse_nul(engine)
        return engine

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back on error.

        A value the database will not take (too long for its column) is the caller's
        input at fault: it surfaces as ``InvalidInput``, which every surface answers 4xx.
        """
        changes: dict[str, int | None] = {}
        try:
            if write and self.is_sqlite:
                with self._write_lock.held(), self._writer.begin() as conn:
                    yield from self._tracked(conn, changes)
            else:
                with (self._writer if write else self._reader).begin() as conn:
                    yield from self._tracked(conn, changes)
        except (DataError, OperationalError, PoolTimeout) as error:
            refused = _refusal(error)
            if refused is error:
                raise
            raise refused from None if isinstance(refused, InvalidInput) else error
        if changes:  # committed
            self._announce(changes)

    @staticmethod
    def _tracked(conn: Connection, changes: dict[str, int | None]) -> Iterator[Connection]:
        info = conn.info  # not read again after an error: a lost connection has none
        info[CHANGES] = changes
        try:
            yield conn
        finally:
            info.pop(CHANGES, None)

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine of this database (on PostgreSQL reads have their own), for
        instrumentation such as counting statements."""
        return (self.engine,) if self._reader is self.engine else (self.engine, self._reader)

    def _announce(self, changes: dict[str, int | None]) -> None:
        for listener in self.after_commit:
            try:
                listener(changes)
            except Exception:  # the transaction is committed; a notice is best effort
                log.exception("telling other processes about %s failed", sorted(changes))

    def transact(self, work: Callable[[Connection], T], attempts: int = 3) -> T:
        """Run ``work`` in a write transaction, again if PostgreSQL broke a deadlock by
        aborting it (rare: a push and the garbage collector touching the same rows in
        opposite orders). ``work`` must be safe to run twice."""
        if self._group is not None:  # SQLite: share the commit with concurrent writers
            return self._group.run(work)
        for attempt in range(1, attempts + 1):
            try:
                with self.session(write=True) as conn:
                    return work(conn)
            except OperationalError as error:
                if getattr(error.orig, "sqlstate", None) not in RETRYABLE:
                    raise
                if attempt == attempts:
                    raise TransientConflict(str(error.orig)) from error
        raise AssertionError("unreachable")

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        command.upgrade(config, "head")

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (readiness checks)."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def pool_usage(self) -> tuple[int, int]:
        """(connections in use, connections the pools may hand out without waiting)."""
        in_use = capacity = 0
        for engine in {self.engine, self._reader}:
            pool = engine.pool
            in_use += getattr(pool, "checkedout", lambda: 0)()
            capacity += getattr(pool, "size", lambda: 0)() + max(
                getattr(pool, "_max_overflow", 0), 0
            )
        return in_use, capacity

    def dispose(self) -> None:
        self.engine.dispose()
        if self._reader is not self.engine:
            self._reader.dispose()
        if self.data_version is not None:
            self.data_version.close()
        if self.is_sqlite:
            self._write_lock.close()
