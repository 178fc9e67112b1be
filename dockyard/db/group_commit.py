"""Group commit for SQLite: write transactions that arrive together share one commit.

SQLite has one writer, and with ``synchronous=FULL`` every commit waits for the WAL to
reach the disk. Sixteen clients mounting blobs at once then pay sixteen syncs one after
another, although each transaction is a few microseconds of work. Here the first caller
to find no commit under way leads: it takes every transaction queued so far, runs each in
a SAVEPOINT of one database transaction, and commits once; the others wait for that
commit and get their own result (or their own exception: a failing transaction rolls back
to its savepoint and leaves the rest of the group alone). Nobody is answered before the
commit that holds their change has synced, so nothing acknowledged can be lost.

It changes nothing a transaction sees: the group runs them one after another in one
database transaction, as the writer lock would have run them one after another anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection

T = TypeVar("T")


@dataclass
class _Queued(Generic[T]):
    work: Callable[[Connection], T]
    result: T | None = None
    error: BaseException | None = None
    finished: bool = False


class GroupCommit:
    """``run(work)`` returns what ``work(conn)`` returned, once its group has committed.

    ``transaction()`` opens the group's one write transaction (the database's own session,
    under its writer lock); ``translate`` turns a driver error raised inside one
    transaction into the error its caller expects (as the session does for the commit).
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Connection]],
        translate: Callable[[Exception], Exception],
        max_group: int = 64,  # bounds how long one commit holds the writer
    ) -> None:
        self._transaction = transaction
        self._translate = translate
        self._max_group = max_group
        self._queue: list[_Queued[Any]] = []
        self._leading = False
        self._turn = threading.Condition()

    def run(self, work: Callable[[Connection], T]) -> T:
        mine: _Queued[T] = _Queued(work)
        group: list[_Queued[Any]] = []
        with self._turn:
            self._queue.append(mine)
            while self._leading and not mine.finished:
                self._turn.wait()
            if not mine.finished:  # no commit under way: lead one, with all that waits
                self._leading = True
                group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
        if group:
            try:
                self._commit(group)
            finally:
                with self._turn:
                    self._leading = False
                    self._turn.notify_all()
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[return-value]

    def _commit(self, group: list[_Queued[Any]]) -> None:
        failure: Exception = RuntimeError("the group's commit was interrupted")
        committed = False
        try:
            with self._transaction() as conn:
                for queued in group:
                    try:
                        with conn.begin_nested():
                            queued.result = queued.work(conn)
                    except Exception as error:  # its own failure: the others go on
                        queued.error = self._translate(error)
            committed = True
        except Exception as error:  # the commit failed: nothing of the group is kept
            failure = error
        finally:
            for queued in group:
                if not committed and queued.error is None:
                    queued.result, queued.error = None, failure
                queued.finished = True
