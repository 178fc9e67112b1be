"""Answers of hot reads, kept while the database has not changed since they were read.

SQLite numbers its states: ``PRAGMA data_version`` on a connection that never writes
changes whenever any other connection, in any process, commits. Reading it costs a
couple of microseconds; the pooled transaction and query it replaces cost tens. So a
blob HEAD or a manifest GET repeated between two pushes is answered from memory, and
nothing is ever stale: one commit anywhere empties the caches before their next use.

PostgreSQL has no such counter, so there the caches are off and every read goes to the
database (its round trip is the price of sharing one database among many replicas).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class DataVersion:
    """The SQLite database's state number, read on a connection of its own."""

    def __init__(self, sqlite_path: str) -> None:
        self._path = sqlite_path
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def current(self) -> int:
        with self._lock:
            if self._connection is None:  # autocommit: it never holds a snapshot open
                self._connection = sqlite3.connect(
                    self._path, isolation_level=None, check_same_thread=False
                )
            return self._connection.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class ReadCache:
    """At most ``max_entries`` answers, all from one database state.

    A full cache is emptied, never grown, so its memory stays bounded.
    """

    def __init__(self, version: DataVersion | None, max_entries: int = 20_000) -> None:
        self._version = version  # None: off (PostgreSQL, in-memory databases)
        self._max = max_entries
        self._lock = threading.Lock()
        self._state: int | None = None
        self._entries: dict[Hashable, tuple[int, object]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self, key: Hashable, load: Callable[[], T], keep: Callable[[T], bool] | None = None
    ) -> T:
        """``load()``'s answer for ``key``, from memory while no commit came between;
        ``keep`` may refuse to hold an answer (one too big, say)."""
        if self._version is None:
            return load()
        state = self._version.current()  # read before the data: a later commit misses
        found = self._entries.get(key)
        if found is not None and found[0] == state:
            return found[1]  # type: ignore[return-value]
        value = load()
        if keep is not None and not keep(value):
            return value
        with self._lock:
            if self._state != state or len(self._entries) >= self._max:
                self._entries.clear()  # answers from an older state are never used again
                self._state = state
            self._entries[key] = (state, value)
        return value
