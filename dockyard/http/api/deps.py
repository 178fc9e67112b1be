"""Who is calling the REST API, and the errors it answers with.

Credentials, tried in order: ``Authorization: Bearer`` or ``PRIVATE-TOKEN`` with a
personal access token (scope ``api``), ``JOB-TOKEN`` with a CI job token, or the web
UI's session cookie (unsafe methods then need the ``X-CSRF-Token`` header). Deploy
tokens are for pulling and pushing only; the REST API refuses them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from dockyard.admin import AdminError, Conflict, Forbidden, NotFound, TooManyAttempts
from dockyard.admin.cleanup_service import Cleanups
from dockyard.admin.hooks import Hooks
from dockyard.admin.registry import RegistryAdmin
from dockyard.admin.tag_protection import TagProtection
from dockyard.admin.tag_rules import TagRules
from dockyard.admin.vuln_policy import PullPolicies
from dockyard.auth.principal import ANONYMOUS, Principal
from dockyard.auth.service import AccessService
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.http.requestlog import record_denial, record_principal
from dockyard.registry.promotion import Promotion
from dockyard.registry.quota import Quota
from dockyard.validation import InvalidInput

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SANDBOX = Principal("user", "sandbox", None, is_admin=True)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


async def on_api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    if error.status in (401, 403):
        record_denial(request.scope, error.message)
    return JSONResponse(error_body(error.code, error.message), status_code=error.status)


async def on_admin_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AdminError)
    status, code = (400, "invalid")
    for kind, answer in (
        (NotFound, (404, "not_found")),
        (Forbidden, (403, "forbidden")),
        (Conflict, (409, "conflict")),
        (TooManyAttempts, (429, "too_many_requests")),
    ):
        if isinstance(error, kind):
            status, code = answer
    return JSONResponse(error_body(code, str(error)), status_code=status)


async def on_invalid_input(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InvalidInput)
    return JSONResponse(error_body("invalid", str(error)), status_code=400)


def forbidden(message: str = "you may not do this") -> ApiError:
    return ApiError(403, "forbidden", message)


@dataclass
class Api:
    """Everything the endpoints need, built once in create_app."""

    db: Database
    settings: Settings
    service: AccessService | None  # None when auth is off
    registry: RegistryAdmin
    policies: PullPolicies
    cleanup: Cleanups
    protection: TagProtection
    tag_rules: TagRules
    quota: Quota | None = None  # the registry's pre-check cache, cleared when a limit changes
    promotion: Promotion | None = None  # tag copies by reference
    hooks: Hooks | None = None  # webhooks of projects and groups

    async def call(self, fn, *args, **kwargs):  # noqa: ANN001, ANN201 - passes through
        return await run_in_threadpool(fn, *args, **kwargs)


def api(request: Request) -> Api:
    return request.app.state.api


def csrf_token(session: dict) -> str:
    """The session's CSRF token, created on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


async def caller(request: Request) -> Principal:
    """The authenticated principal, or 401/403 in the API's error shape."""
    principal = await _caller(request)
    record_principal(request.scope, principal)
    return principal


async def _caller(request: Request) -> Principal:
    ctx = api(request)
    if ctx.service is None:
        return SANDBOX
    secret = _header_token(request)
    if secret is not None:
        principal = await ctx.call(ctx.service.principal_for_secret, secret)
        if principal is None:
            raise ApiError(401, "unauthorized", "the token is unknown, expired or revoked")
        if principal.kind == "deploy":
            raise forbidden("deploy tokens cannot use the REST API")
        if principal.scopes is not None and "api" not in principal.scopes:
            raise forbidden("this token lacks the 'api' scope")
        return principal
    session = request.scope.get("session") or {}
    if session.get("sid"):
        principal = await ctx.call(ctx.service.session_principal, session["sid"])
        if principal is not None:
            if request.method not in SAFE_METHODS and (
                request.headers.get("x-csrf-token") != session.get("csrf")
                or not session.get("csrf")
            ):
                raise forbidden("missing or wrong X-CSRF-Token")
            return principal
    raise ApiError(401, "unauthorized", "send a personal access token (Bearer or PRIVATE-TOKEN)")


async def reader(request: Request) -> Principal:
    """For endpoints that only show things: a caller with no credentials at all is the
    anonymous principal, who sees public projects (and 404 for the rest); credentials
    that are sent must be good, as with ``caller``."""
    ctx = api(request)
    session = request.scope.get("session") or {}
    if ctx.service is not None and _header_token(request) is None and not session.get("sid"):
        record_principal(request.scope, ANONYMOUS)
        return ANONYMOUS
    return await caller(request)


def _header_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("private-token") or request.headers.get("job-token") or None
