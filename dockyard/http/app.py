"""create_app: the one place the server is wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.admin.cleanup_service import Cleanups
from dockyard.admin.hooks import Hooks
from dockyard.admin.registry import RegistryAdmin
from dockyard.admin.tag_protection import TagProtection
from dockyard.admin.tag_rules import TagRules
from dockyard.admin.vuln_policy import PullPolicies
from dockyard.auth.keys import ensure_keys, session_ring, token_signer
from dockyard.auth.service import AccessService
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.http import metrics
from dockyard.http.access import AccessPolicy, OpenAccess, TokenAccess
from dockyard.http.errors import HANDLERS, WEB_HANDLERS
from dockyard.http.health import HealthChecks
from dockyard.http.lazy import LazyApp
from dockyard.http.proxies import ForwardedHeaders, parse_networks
from dockyard.http.requestlog import RequestLog
from dockyard.http.sessions import SharedKeySessions
from dockyard.http.token import TokenEndpoint
from dockyard.http.ui.pages import Ui, make_templates
from dockyard.http.ui.routes import SecureHeaders
from dockyard.http.ui.routes import routes as ui_routes
from dockyard.http.v2 import routes as v2_routes
from dockyard.http.v2.common import Context
from dockyard.registry import Registry, build_registry
from dockyard.shared import SharedState, attach, open_shared
from dockyard.storage import open_store
from dockyard.storage.base import BlobStore
from dockyard.webhooks.ssrf import AllowList

log = logging.getLogger("dockyard")
API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")


class ApiVersionHeader:
    """Adds Docker-Distribution-API-Version to every /v2 response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), API_VERSION]
            await send(message)

        await self.app(scope, receive, send_with_header)


def build_access(
    settings: Settings, db: Database, shared: SharedState | None = None
) -> tuple[AccessPolicy, AccessService | None, list[Route]]:
    """The access policy the settings ask for, and the routes it brings (/jwt/auth)."""
    match settings.auth:
        case "none":
            return OpenAccess(), None, []
        case "token":
            signer = token_signer(db, settings)
            service = AccessService(db, settings, shared, signer)
            access = TokenAccess(service, signer, settings)
            endpoint = TokenEndpoint(access)
            return (
                access,
                service,
                [
                    Route("/jwt/auth", endpoint.get, methods=["GET"]),
                    Route("/jwt/auth", endpoint.post, methods=["POST"]),
                ],
            )
        case other:
            raise ValueError(f"unknown auth mode {other!r} (known: token, none)")


def create_app(
    settings: Settings,
    *,
    migrate: bool = True,
    background: Callable[[Database, Registry], list[Callable[[], Awaitable[None]]]] | None = None,
) -> RegistryFirst:
    """Build stores, sessions and routes explicitly from settings.

    ``background`` gives the loops (purges, deletions) this process should run while it
    serves; the server entry point passes the workers' list, tests may pass none.
    """
    db = Database(
        settings.effective_database_url, settings.sqlite_synchronous, settings.database_pool_size
    )
    if migrate:
        db.migrate()
    ensure_keys(db, settings)  # once per database; later starts find them there
    shared = attach(db, open_shared(settings))  # Redis when redis_url is set
    store = open_store(settings)
    registry = build_registry(settings, db, store)
    access, service, auth_routes = build_access(settings, db, shared)
    admin = RegistryAdmin(db, store, timedelta(seconds=settings.gc_review_delay_seconds))
    policies = PullPolicies(db, shared)  # one per process: the API's changes clear the pulls' cache
    protection = TagProtection(
        db, auth_on=service is not None, shared=shared
    )  # likewise for pushes
    tag_rules = TagRules(db, protection)
    cleanup = Cleanups(
        db, admin, may_delete=protection.cleanup_refusal_when(settings.delete_enabled)
    )
    hooks = Hooks(db, AllowList.parse(settings.webhook_allowed_hosts))

    def build_rest_api() -> ASGIApp:
        from dockyard.http.api.app import build_api
        from dockyard.http.api.deps import Api

        return build_api(
            Api(
                db,
                settings,
                service,
                admin,
                policies,
                cleanup,
                protection,
                tag_rules,
                quota=registry.quota,
                promotion=registry.promotion,
                hooks=hooks,
            )
        )

    ctx = Context(
        registry=registry,
        access=access,
        settings=settings,
        inline_reads=db.is_sqlite and not store.remote,  # a remote store's calls never inline
        remote_store=store.remote,
        policies=policies,
        protection=protection,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        loops = background(db, registry) if background else []
        tasks = [asyncio.create_task(loop()) for loop in loops]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            # Wait for the loops to end, so none is left for interpreter exit to wait on.
            await asyncio.gather(*tasks, return_exceptions=True)
            db.dispose()
            store.close()
            shared.close()

    ui = Ui(db, settings, service, admin, make_templates(), cleanup, protection, tag_rules, hooks)
    web = Starlette(
        routes=[*auth_routes, Mount("/api/v1", app=LazyApp(build_rest_api)), *ui_routes(ui)],
        exception_handlers=WEB_HANDLERS,
        lifespan=lifespan,
    )
    web.add_middleware(SecureHeaders)
    web.add_middleware(
        SharedKeySessions,
        ring=session_ring(db, settings),
        session_cookie="dockyard_session",
        max_age=settings.session_ttl_seconds,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    registry_api = Starlette(routes=v2_routes(ctx), exception_handlers=HANDLERS)
    registry_api.state.ctx = ctx
    registry_api.add_middleware(ApiVersionHeader)
    return RegistryFirst(registry_api, web, lambda app: operations(app, settings, db, store))


def operations(app: ASGIApp, settings: Settings, db: Database, store: BlobStore) -> ASGIApp:
    """The layers every HTTP request passes first: forwarded headers from trusted
    proxies, the request id and log line and metrics, then the health endpoints."""
    app = HealthChecks(app, {"database": db.ping, "storage": store.check})
    app = RequestLog(app, on_done=lambda: metrics.sample_pool(db))
    networks = parse_networks(settings.trusted_proxies)
    if networks:
        app = ForwardedHeaders(app, networks, use_host=not settings.public_url)
    return app


class RegistryFirst:
    """Sends /v2 straight to the registry app; everything else (and the lifespan) to the
    web app. Registry traffic, by far the most, then skips sessions, page headers and
    the web routes."""

    def __init__(
        self,
        registry_api: Starlette,
        web: Starlette,
        wrap: Callable[[ASGIApp], ASGIApp] = lambda app: app,
    ) -> None:
        self.registry_api = registry_api
        self.web = web
        self._http = wrap(self._dispatch)  # the operations layers around both apps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.web(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == "/v2" or path.startswith("/v2/")):
            await self.registry_api(scope, receive, send)
        else:
            await self.web(scope, receive, send)
