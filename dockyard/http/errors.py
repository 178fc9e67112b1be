"""Render every failure as the distribution spec's JSON; nothing else renders errors."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.http.requestlog import current_request_id, internal_error_body, record_denial
from dockyard.oci.errors import Code, RegistryError


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


async def on_unexpected(request: Request, error: Exception) -> Response:
    """A bug, not the client's fault: tell the client nothing internal but the request
    id. The error then propagates to the request log, which logs its stack trace."""
    return JSONResponse(internal_error_body(current_request_id()), status_code=500)


HANDLERS = {
    RegistryError: on_registry_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
