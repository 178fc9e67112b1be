"""GET/HEAD/DELETE /v2/<name>/blobs/<digest>: pulls stream zero-copy where possible,
or, with a store that offers it (S3 with s3_redirect), redirect to a short-lived URL."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from dockyard.http.access import DELETE, PULL
from dockyard.http.v2.common import Context, repository, run
from dockyard.http.v2.ranges import select_range
from dockyard.oci.digest import parse_digest
from dockyard.oci.errors import Code, RegistryError

OCTET = "application/octet-stream"


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
        if request.method == "HEAD":  # RFC 9110 14.2: Range is defined for GET only
            headers["Content-Length"] = str(blob.size)
            return Response(status_code=200, headers=headers, media_type=OCTET)
        redirect = await self.ctx.storage(self.ctx.registry.blobs.redirect_url, digest)
        if redirect is not None:  # s3_redirect: the client fetches the bytes from S3
            # not cached: the URL expires long before the immutable blob would
            moved = {"Docker-Content-Digest": str(digest), "Cache-Control": "no-store"}
            return RedirectResponse(redirect, status_code=307, headers=moved)
        asked = request.headers
        wanted = select_range(asked.get("range"), blob.size, asked.get("if-range"), headers["ETag"])
        if wanted is None:
            local = self.ctx.registry.blobs.local_file(digest) if "range" not in asked else None
            if local is not None:  # stat inline: FileResponse would hop to a thread for it
                path, stat = local
                return FileResponse(path, headers=headers, media_type=OCTET, stat_result=stat)
            headers["Content-Length"] = str(blob.size)
            body = await self.ctx.storage(self.ctx.registry.blobs.read, digest, 0, blob.size)
            return StreamingResponse(body, headers=headers, media_type=OCTET)
        start, end = wanted
        headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
        headers["Content-Length"] = str(end - start + 1)
        body = await self.ctx.storage(self.ctx.registry.blobs.read, digest, start, end - start + 1)
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
