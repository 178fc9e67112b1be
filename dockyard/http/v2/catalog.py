"""GET /v2/_catalog: repository names, paged like tags."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from dockyard.http.access import CATALOG
from dockyard.http.v2.common import Context, next_link, page


class Endpoints:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list(self, request: Request) -> JSONResponse:
        principal = await self.ctx.access.authorize(request, None, CATALOG)
        n, last = page(request, self.ctx.settings.page_size_max)
        visible = await self.ctx.access.readable(principal)
        names, more = await self.ctx.read(self.ctx.registry.catalog.repositories, last, n, visible)
        headers = next_link(request.url.path, n, names[-1]) if more and names else {}
        return JSONResponse({"repositories": names}, headers=headers)
