"""create_app: the one place the server is wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.auth.registry_tokens import TokenSigner, ensure_signing_key
from dockyard.auth.service import AccessService
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.http.access import AccessPolicy, OpenAccess, TokenAccess
from dockyard.http.errors import HANDLERS
from dockyard.http.token import TokenEndpoint
from dockyard.http.v2 import routes as v2_routes
from dockyard.http.v2.common import Context, run
from dockyard.registry import build_registry
from dockyard.storage import open_store

log = logging.getLogger("dockyard")
API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")
PURGE_EVERY = 600.0


class ApiVersionHeader:
    """Adds Docker-Distribution-API-Version to every /v2 response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v2"):
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), API_VERSION]
            await send(message)

        await self.app(scope, receive, send_with_header)


def build_access(settings: Settings, db: Database) -> tuple[AccessPolicy, list[Route]]:
    """The access policy the settings ask for, and the routes it brings (/jwt/auth)."""
    match settings.auth:
        case "none":
            return OpenAccess(), []
        case "token":
            ensure_signing_key(settings.signing_key_path)
            signer = TokenSigner(
                settings.signing_key_path, settings.token_issuer, settings.token_service
            )
            access = TokenAccess(AccessService(db, settings), signer, settings)
            endpoint = TokenEndpoint(access)
            return access, [
                Route("/jwt/auth", endpoint.get, methods=["GET"]),
                Route("/jwt/auth", endpoint.post, methods=["POST"]),
            ]
        case other:
            raise ValueError(f"unknown auth mode {other!r} (known: token, none)")


def create_app(settings: Settings, *, migrate: bool = True) -> Starlette:
    """Build stores, sessions and routes explicitly from settings."""
    db = Database(settings.effective_database_url)
    if migrate:
        db.migrate()
    registry = build_registry(settings, db, open_store(settings))
    access, auth_routes = build_access(settings, db)
    ctx = Context(registry=registry, access=access, settings=settings, inline_reads=db.is_sqlite)

    async def purge_idle_uploads() -> None:
        idle = timedelta(seconds=settings.upload_ttl_seconds)
        while True:
            try:
                purged = await run(registry.uploads.purge_idle, idle)
                if purged:
                    log.info("purged %d idle upload sessions", purged)
            except Exception:
                log.exception("purging idle uploads failed")
            await asyncio.sleep(PURGE_EVERY)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(purge_idle_uploads())
        try:
            yield
        finally:
            task.cancel()
            db.dispose()

    routes = auth_routes + v2_routes(ctx)
    app = Starlette(routes=routes, exception_handlers=HANDLERS, lifespan=lifespan)
    app.state.ctx = ctx
    app.add_middleware(ApiVersionHeader)
    return app
