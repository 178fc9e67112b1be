"""One event loop in one background thread, for the async S3 client.

The storage seam is synchronous (Starlette calls it from its threadpool, the workers
and the CLI call it directly), while the maintained S3 clients worth having are async
(aiobotocore: one connection pool, non-blocking streaming). Rather than start a loop per
call, which would throw the pool away each time, the driver owns one loop thread for
its lifetime and every sync method submits a coroutine to it and waits for the result.
Many threads may wait at once; the loop multiplexes their requests over its pool.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """Runs coroutines on a private event loop; restarts itself after a fork."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():  # threads do not survive fork
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name=self._name, daemon=True
                )  # daemon: a forgotten store never keeps the interpreter from exiting
                thread.start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result (or its exception)."""
        return asyncio.run_coroutine_threadsafe(coro, self._ensure()).result()

    def close(self) -> None:
        with self._lock:
            if self._loop is not None and self._pid == os.getpid():
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = None
