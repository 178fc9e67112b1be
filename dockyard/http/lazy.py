"""An ASGI app built on its first request.

The REST API (FastAPI and pydantic) costs a worker about half a second of start-up
and 20 MiB of memory; a worker that only ever serves /v2 never pays for it. The first
API request to each worker waits for the build (in a thread, so /v2 traffic goes on).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send


class LazyApp:
    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._built: ASGIApp | None = None
        self._lock = threading.Lock()

    @property
    def app(self) -> ASGIApp:
        """The app, built now if no request has built it yet."""
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._built
        if app is None:
            app = await run_in_threadpool(lambda: self.app)
        await app(scope, receive, send)
