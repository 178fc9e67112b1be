"""Render every failure: the distribution spec's JSON, or plain text for refused page forms;
nothing else renders errors."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from dockyard.db.engine import DatabaseUnavailable
from dockyard.http.requestlog import current_request_id, internal_error_body, record_denial
from dockyard.oci.errors import Code, RegistryError
from dockyard.storage import StorageUnavailable
from dockyard.validation import InvalidInput

log = logging.getLogger("dockyard.storage")
RETRY_AFTER = "5"


def render(error: RegistryError) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def on_registry_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RegistryError)
    if error.status in (401, 403):
        record_denial(request.scope, error.message)
    return render(error)


async def on_http_error(request: Request, error: Exception) -> Response:
    """Router misses: unknown paths are NAME_UNKNOWN, wrong methods UNSUPPORTED."""
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        return render(RegistryError(Code.UNSUPPORTED, f"{request.method} is not supported here"))
    return render(RegistryError(Code.NAME_UNKNOWN, "no such endpoint", status=error.status_code))


async def on_page_error(request: Request, error: Exception) -> Response:
    """Outside /v2 (pages, forms, /jwt/auth), a refusal such as an unreadable form is
    plain text saying why; route misses keep the registry's answer."""
    assert isinstance(error, HTTPException)
    if error.status_code in (404, 405):
        return await on_http_error(request, error)
    return PlainTextResponse(f"{error.detail}\n", status_code=error.status_code)


async def on_invalid_input(request: Request, error: Exception) -> Response:
    """Input we refuse (a number out of range, NUL in text): 400 saying which."""
    assert isinstance(error, InvalidInput)
    if request.url.path.startswith("/v2"):
        return render(RegistryError(Code.UNSUPPORTED, str(error), status=400))
    return PlainTextResponse(f"{error}\n", status_code=400)


async def on_storage_unavailable(request: Request, error: Exception) -> Response:
    """The blob store is down or refuses us: 503 with Retry-After, so clients back off and
    retry. The spec has no outage code and its codes are all we send, so this is
    TOOMANYREQUESTS ("come back later"); the message says what happened. Details
    (endpoint, credentials) go to the log, not to the client."""
    log.warning("storage unavailable during %s %s: %s", request.method, request.url.path, error)
    message = "the blob storage is unavailable right now; try again shortly"
    refusal = RegistryError(
        Code.TOOMANYREQUESTS, message, status=503, headers={"Retry-After": RETRY_AFTER}
    )
    return render(refusal)


async def on_database_unavailable(request: Request, error: Exception) -> Response:
    """The database is down, full or every connection busy: 503 with Retry-After, as
    for storage; the cause is in the log (``dockyard.db``)."""
    message = "the metadata database is unavailable right now; try again shortly"
    refusal = RegistryError(
        Code.TOOMANYREQUESTS, message, status=503, headers={"Retry-After": RETRY_AFTER}
    )
    return render(refusal)


async def on_unexpected(request: Request, error: Exception) -> Response:
    """A bug, not the client's fault: tell the client nothing internal but the request
    id. The error then propagates to the request log, which logs its stack trace.
    (An outage raised in a middleware, outside the handlers above, arrives here too.)"""
    if isinstance(error, DatabaseUnavailable):
        return await on_database_unavailable(request, error)
    if isinstance(error, StorageUnavailable):
        return await on_storage_unavailable(request, error)
    if is_page(request.url.path):
        return HTMLResponse(PAGE_ERROR.format(request_id=current_request_id()), status_code=500)
    return JSONResponse(internal_error_body(current_request_id()), status_code=500)


def is_page(path: str) -> bool:
    """Web UI addresses, which answer people in HTML; the rest answer programs in JSON."""
    return not path.startswith(("/v2", "/api/", "/jwt/", "/-/health", "/-/ready"))


# Self-contained (no template, no database): it must render whatever broke.
PAGE_ERROR = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Something went wrong · Dockyard</title>
<link rel="stylesheet" href="/-/static/app.css"></head>
<body><main><section class="card narrow"><h1>Something went wrong</h1>
<p>This is a fault in Dockyard, not in what you did. Try again; if it keeps happening,
give your administrator this request id: <code>{request_id}</code>.</p>
<p><a href="/">Back to your projects</a></p></section></main></body></html>
"""


HANDLERS = {
    RegistryError: on_registry_error,
    HTTPException: on_http_error,
    InvalidInput: on_invalid_input,
    StorageUnavailable: on_storage_unavailable,
    DatabaseUnavailable: on_database_unavailable,
    Exception: on_unexpected,
}
WEB_HANDLERS = {**HANDLERS, HTTPException: on_page_error}
