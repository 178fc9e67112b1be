"""GET/HEAD/DELETE /v2/<name>/blobs/<digest>: pulls stream zero-copy where possible."""

from __future__ import annotations

import os
import re

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from dockyard.http.access import DELETE, PULL
from dockyard.http.v2.common import Context, repository, run
from dockyard.oci.digest import parse_digest
from dockyard.oci.errors import Code, RegistryError

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
OCTET = "application/octet-stream"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) for a single satisfiable range; None to send everything.

    Malformed or multi-range headers are ignored (RFC 9110 allows it); a range
    that starts past the end is 416.
    """
    match = _RANGE.fullmatch((header or "").strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    if start >= size or size == 0:
        raise RegistryError(
            Code.SIZE_INVALID,
            "requested range not satisfiable",
            {"size": size},
            status=416,
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


class Endpoints:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get(self, request: Request) -> Response:
        name = repository(request)
        try:
            await self.ctx.access.authorize(request, name, PULL)
        except RegistryError as error:
            # A HEAD has no body for the reason, and push clients (containers/image) check
            # blobs with HEAD first, printing only "403 (Forbidden)". "Not here" (revealing
            # nothing) lets them go on to the upload, whose 403 says why.
            if request.method == "HEAD" and error.code is Code.DENIED:
                raise RegistryError(Code.BLOB_UNKNOWN, detail={"digest": None}) from None
            raise
        digest = parse_digest(request.path_params["digest"])
        blob = await self.ctx.read(self.ctx.registry.blobs.stat, name, digest)
        headers = {
            "Docker-Content-Digest": str(digest),
            "ETag": f'"{digest}"',
            "Accept-Ranges": "bytes",
            "Cache-Control": "max-age=31536000, immutable",
        }
        wanted = parse_range(request.headers.get("range"), blob.size)
        if request.method == "HEAD":
            headers["Content-Length"] = str(blob.size)
            return Response(status_code=200, headers=headers, media_type=OCTET)
        if wanted is None:
            if blob.path is not None and "range" not in request.headers:
                # stat inline: FileResponse would otherwise hop to a thread just for it
                stat = os.stat(blob.path)
                return FileResponse(blob.path, headers=headers, media_type=OCTET, stat_result=stat)
            headers["Content-Length"] = str(blob.size)
            body = self.ctx.registry.blobs.read(digest, 0, blob.size)
            return StreamingResponse(body, headers=headers, media_type=OCTET)
        start, end = wanted
        headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
        headers["Content-Length"] = str(end - start + 1)
        body = self.ctx.registry.blobs.read(digest, start, end - start + 1)
        return StreamingResponse(body, status_code=206, headers=headers, media_type=OCTET)

    async def delete(self, request: Request) -> Response:
        name = repository(request)
        principal = await self.ctx.access.authorize(request, name, DELETE)
        if not self.ctx.settings.delete_enabled:
            raise RegistryError(Code.UNSUPPORTED, "deletes are disabled on this registry")
        digest = parse_digest(request.path_params["digest"])
        await run(self.ctx.registry.blobs.delete, name, digest)
        await self.ctx.access.audit(request, principal, "delete", f"{name}@{digest}")
        return Response(status_code=202)
