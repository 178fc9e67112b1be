"""The credentials epoch as this process last read it, reused for a quarter of a second.

Cached logins and token re-checks are used only while the epoch they were stored with is
current (``auth_state.epoch`` grows with every revocation, block and password change).
Reading it on every request was one database read (or Redis GET) and a thread hop per
request, more than the rest of a blob HEAD. So a reading is reused for
``MAX_AGE_SECONDS``; a change this process commits reaches it at once through the
database's after-commit notice, so here a revoked credential fails on the very next
request, and in other processes and replicas within ``MAX_AGE_SECONDS``.

Under load the reading is renewed half-way (``RENEW_AFTER_SECONDS``) by one request while
the others go on with it, and one thread reads at a time: a busy process reads the epoch
about eight times a second, and requests do not all miss together when it ages out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from dockyard.db.queries.sessions import AUTH_EPOCH

MAX_AGE_SECONDS = 0.25
RENEW_AFTER_SECONDS = MAX_AGE_SECONDS / 2
clock = time.monotonic  # module-level so tests can move time forward


class EpochCache:
    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._reading = threading.Lock()  # one reader at a time; the others use its reading
        self._renewing = False  # a caller has been sent to read it again
        self._value = 0
        self._read_at = float("-inf")
        # The highest epoch this process committed: a reading that raced the commit (or
        # a Redis copy not raised yet) is never allowed to hide it.
        self._floor = 0

    def fresh(self) -> int | None:
        """The epoch if read within ``MAX_AGE_SECONDS``, without any I/O; else None (then
        call ``current``). Past ``RENEW_AFTER_SECONDS`` one caller gets None too, to
        renew the reading, while the others go on with it."""
        with self._lock:
            age = clock() - self._read_at
            if age < RENEW_AFTER_SECONDS:
                return self._value
            if age < MAX_AGE_SECONDS:
                if self._renewing:
                    return self._value
                self._renewing = True  # this caller renews it; the others go on meanwhile
        return None

    def current(self) -> int:
        """The epoch, read again (database or Redis) when the reading is half-way old."""
        found = self._recent()
        if found is not None:
            return found
        with self._reading:
            found = self._recent()  # another thread may have read it while we waited
            if found is not None:
                return found
            read_at, value = clock(), self._read()
            with self._lock:
                self._value, self._read_at = max(value, self._floor), read_at
                self._renewing = False
                return self._value

    def _recent(self) -> int | None:
        with self._lock:
            return self._value if clock() - self._read_at < RENEW_AFTER_SECONDS else None

    def changed(self, changes: dict[str, int | None]) -> None:
        """``Database.after_commit`` listener: a bump this process committed counts now."""
        if AUTH_EPOCH not in changes:
            return
        value = changes[AUTH_EPOCH]
        with self._lock:
            if value is None:  # no new value told: read it on the next request
                self._read_at = float("-inf")
                return
            self._floor = max(self._floor, value)
            self._value = max(self._value, value)
