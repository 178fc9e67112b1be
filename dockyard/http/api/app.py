"""The FastAPI application behind /api/v1 (mounted by dockyard.http.app)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from dockyard import __version__
from dockyard.admin import AdminError
from dockyard.db.engine import DatabaseUnavailable
from dockyard.http.api import (
    cleanup,
    gc,
    hooks,
    oidc,
    projects,
    protection,
    registry,
    users,
    vulnerabilities,
)
from dockyard.http.api.deps import (
    Api,
    ApiError,
    error_body,
    on_admin_error,
    on_api_error,
    on_invalid_input,
)
from dockyard.http.api.docs import add_docs_page
from dockyard.http.errors import RETRY_AFTER
from dockyard.http.requestlog import current_request_id
from dockyard.storage import StorageUnavailable
from dockyard.validation import InvalidInput


async def on_validation(_request, error: Exception) -> JSONResponse:  # noqa: ANN001
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    fields = [".".join(str(p) for p in e.get("loc", ())) for e in problems]
    said = [
        f"{field}: {e.get('msg', 'invalid')}" for field, e in zip(fields, problems, strict=True)
    ]
    more = f" (and {len(said) - 3} more)" if len(said) > 3 else ""
    body = error_body("invalid", "; ".join(said[:3])[:500] + more or "invalid request")
    body["error"]["fields"] = fields  # type: ignore[assignment]
    return JSONResponse(body, status_code=422)


async def on_unavailable(_request, error: Exception) -> JSONResponse:  # noqa: ANN001
    """The database or the blob store is out of reach: 503, retry shortly."""
    part = "metadata database" if isinstance(error, DatabaseUnavailable) else "blob storage"
    body = error_body("unavailable", f"the {part} is unavailable right now; try again shortly")
    return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER})


async def on_http(_request, error: Exception) -> JSONResponse:  # noqa: ANN001
    assert isinstance(error, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "error")
    return JSONResponse(error_body(code, str(error.detail)), status_code=error.status_code)


async def on_unexpected(_request, _error: Exception) -> JSONResponse:  # noqa: ANN001
    """Nothing internal for the client but the request id; the request log keeps the trace."""
    request_id = current_request_id()
    body = error_body("internal", f"internal server error (request id {request_id})")
    body["error"]["request_id"] = request_id
    return JSONResponse(body, status_code=500)


def build_api(context: Api) -> FastAPI:
    app = FastAPI(
        title="Dockyard API",
        version=__version__,
        description="Manage projects, members, tokens, image repositories and tags.",
        docs_url=None,  # our own page (docs.py) needs no CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.api = context
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(AdminError, on_admin_error)
    app.add_exception_handler(InvalidInput, on_invalid_input)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(DatabaseUnavailable, on_unavailable)
    app.add_exception_handler(StorageUnavailable, on_unavailable)
    app.add_exception_handler(Exception, on_unexpected)
    # registry first: its routes are longer than the catch-all /projects/{project:path}
    routers = (users, registry, gc, cleanup, protection, vulnerabilities, hooks, oidc, projects)
    for module in routers:
        app.include_router(module.router)
    add_docs_page(app)
    return app
