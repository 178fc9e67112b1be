"""The version check, and the answer for paths the API does not have."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from dockyard.http.v2.common import Context
from dockyard.oci.errors import Code, RegistryError


class Endpoints:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def version(self, request: Request) -> JSONResponse:
        """200 tells clients this is a v2 registry (and, with auth on, that they got in)."""
        await self.ctx.access.authorize(request, None, frozenset())
        return JSONResponse({})

    async def unknown(self, request: Request) -> JSONResponse:
        raise RegistryError(Code.NAME_UNKNOWN, "no such endpoint", {"path": request.url.path[:300]})
