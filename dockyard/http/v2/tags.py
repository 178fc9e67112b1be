"""GET /v2/<name>/tags/list: lexical pages with n/last and a Link to the next one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from dockyard.http.access import PULL
from dockyard.http.v2.common import Context, next_link, page, repository


class Endpoints:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list(self, request: Request) -> JSONResponse:
        name = repository(request)
        await self.ctx.access.authorize(request, name, PULL)
        n, last = page(request, self.ctx.settings.page_size_max)
        tags, more = await self.ctx.read(self.ctx.registry.catalog.tags, name, last, n)
        headers = next_link(request.url.path, n, tags[-1]) if more and tags else {}
        return JSONResponse({"name": name, "tags": tags}, headers=headers)
