"""``/-/health`` (the process answers) and ``/-/ready`` (it can serve: the database
and the storage both respond). Unauthenticated and cheap, for load balancers and
orchestrators; answered before any routing, session or authentication work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("dockyard.health")
CHECK_TIMEOUT = 3.0
HEADERS = {"Cache-Control": "no-store"}


class _Probe:
    """Gives ``/-/health`` and ``/-/ready`` a route template for the metrics."""

    def __init__(self, path: str) -> None:
        self.path_format = path


HEALTH, READY = _Probe("/-/health"), _Probe("/-/ready")


class HealthChecks:
    def __init__(self, app: ASGIApp, checks: dict[str, Callable[[], None]]) -> None:
        self.app = app
        self.checks = checks  # name -> a blocking function that raises when unhealthy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/-/"):
            await self.app(scope, receive, send)
            return
        if path == "/-/health":
            scope["route"] = HEALTH
            response = JSONResponse({"status": "ok"}, headers=HEADERS)
        elif path == "/-/ready":
            scope["route"] = READY
            response = await self.ready()
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)

    async def ready(self) -> JSONResponse:
        names = list(self.checks)
        outcomes = await asyncio.gather(*(self._run(name) for name in names))
        checks = dict(zip(names, outcomes, strict=True))
        failed = [name for name, outcome in checks.items() if outcome != "ok"]
        body: dict[str, object] = {"status": "unavailable" if failed else "ok", "checks": checks}
        if failed:
            body["failed"] = failed
        return JSONResponse(body, status_code=503 if failed else 200, headers=HEADERS)

    async def _run(self, name: str) -> str:
        try:
            await asyncio.wait_for(asyncio.to_thread(self.checks[name]), CHECK_TIMEOUT)
        except TimeoutError:
            log.warning("readiness: %s did not answer within %.0f s", name, CHECK_TIMEOUT)
            return "timeout"
        except Exception as error:
            log.warning("readiness: %s failed: %s", name, error)
            return "failed"
        return "ok"
