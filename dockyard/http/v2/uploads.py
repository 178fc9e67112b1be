"""/v2/<name>/blobs/uploads/: sessions, chunks, monolithic pushes and mounts."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from dockyard.auth.principal import Principal
from dockyard.http.access import PUSH
from dockyard.http.v2.common import Context, receive, repository, run
from dockyard.oci.digest import Digest, parse_digest
from dockyard.oci.errors import Code, RegistryError
from dockyard.oci.names import check_name
from dockyard.registry.quota import Room
from dockyard.registry.uploads import UploadStatus

# ASCII digits, at most 18 of them: beyond that no session could ever be that long.
_CONTENT_RANGE = re.compile(r"(?:bytes[ =])?([0-9]{1,18})-([0-9]{1,18})(?:/[0-9]{1,18}|/\*)?")


def _session_headers(status: UploadStatus) -> dict[str, str]:
    return {
        "Location": f"/v2/{status.repository}/blobs/uploads/{status.id}",
        "Docker-Upload-UUID": status.id,
        "Range": f"0-{max(status.size - 1, 0)}",
    }


def _created(name: str, digest: Digest) -> Response:
    headers = {
        "Location": f"/v2/{name}/blobs/{digest}",
        "Docker-Content-Digest": str(digest),
    }
    return Response(status_code=201, headers=headers)


def _declared_range(request: Request, status: UploadStatus) -> int | None:
    """Length promised by Content-Range, after checking it continues the session (416 if not)."""
    header = request.headers.get("content-range")
    if header is None:
        return None
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if not match:
        raise RegistryError(
            Code.BLOB_UPLOAD_INVALID,
            "malformed Content-Range",
            status=416,
            headers=_session_headers(status),
        )
    start, end = int(match.group(1)), int(match.group(2))
    if start != status.size or end < start:
        raise RegistryError(
            Code.BLOB_UPLOAD_INVALID,
            f"chunk must start at byte {status.size}",
            {"size": status.size, "contentRange": header[:100]},
            status=416,
            headers=_session_headers(status),
        )
    return end - start + 1


def _owner(principal: Principal) -> str | None:
    """Sessions are bound to who opened them (nobody in particular when auth is off)."""
    return None if principal.is_anonymous else principal.key


def _digest_param(request: Request) -> Digest:
    raw = request.query_params.get("digest")
    if not raw:
        raise RegistryError(Code.DIGEST_INVALID, "the digest query parameter is required")
    return parse_digest(raw)


class Endpoints:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.uploads = ctx.registry.uploads

    async def _room(self, name: str, digest: Digest | None = None) -> Room | None:
        """The storage limit's room for a body; no query (nor thread) when none applies."""
        if self.uploads.quota.surely_unlimited(name):
            return None
        return await self.ctx.read(self.uploads.room, name, digest)

    async def start(self, request: Request) -> Response:
        """POST: mount, monolithic push (?digest=), or a new session."""
        name = repository(request)
        principal = await self.ctx.access.authorize(request, name, PUSH)
        if "mount" in request.query_params:
            digest = parse_digest(request.query_params["mount"])
            source = request.query_params.get("from") or None
            if source is not None:
                check_name(source)
            may_read = lambda repo: self.ctx.access.may_read(request, principal, repo)  # noqa: E731
            if await run(self.uploads.mount, name, digest, source, may_read) is not None:
                return _created(name, digest)
        digest = _digest_param(request) if "digest" in request.query_params else None
        status = await run(self.uploads.start, name, _owner(principal), digest)
        if digest is None:
            return Response(status_code=202, headers=_session_headers(status))
        try:
            room = await self._room(name, digest)
            receiver = await self.ctx.storage(self.uploads.receiver, status, digest.algorithm, room)
            await receive(request, receiver, None, False)
            await run(self.uploads.finish, status, digest)
        except BaseException:
            await run(self.uploads.cancel, status)  # a one-request push leaves no session
            raise
        return _created(name, digest)

    async def status(self, request: Request) -> Response:
        name = repository(request)
        principal = await self.ctx.access.authorize(request, name, PUSH)
        upload_id = request.path_params["upload_id"]
        status = await self.ctx.read(self.uploads.status, name, upload_id, _owner(principal))
        return Response(status_code=204, headers=_session_headers(status))

    async def append(self, request: Request) -> Response:
        """PATCH: a chunk (with Content-Range) or a stream (without)."""
        name = repository(request)
        principal = await self.ctx.access.authorize(request, name, PUSH)
        upload_id = request.path_params["upload_id"]
        status = await self.ctx.read(self.uploads.status, name, upload_id, _owner(principal))
        expected = _declared_range(request, status)
        room = await self._room(name)
        receiver = await self.ctx.storage(self.uploads.receiver, status, "sha256", room)
        size = await receive(request, receiver, expected)
        await run(self.uploads.touch, status.id)
        done = UploadStatus(status.id, name, size)
        return Response(status_code=202, headers=_session_headers(done))

    async def finish(self, request: Request) -> Response:
        """PUT ?digest=: an optional last chunk, then verify and commit."""
        name = repository(request)
        principal = await self.ctx.access.authorize(request, name, PUSH)
        upload_id = request.path_params["upload_id"]
        status = await self.ctx.read(self.uploads.status, name, upload_id, _owner(principal))
        digest = _digest_param(request)
        expected = _declared_range(request, status)
        has_body = request.headers.get("content-length", "0") != "0" or (
            "transfer-encoding" in request.headers
        )
        before = status
        if expected is not None or has_body:
            room = await self._room(name, digest)
            receiver = await self.ctx.storage(self.uploads.receiver, status, digest.algorithm, room)
            size = await receive(request, receiver, expected, durable=False)
            status = UploadStatus(status.id, name, size)
        try:
            await run(self.uploads.finish, status, digest)
        except RegistryError:
            if status is not before:  # a refused PUT leaves the session as it found it
                await run(self.uploads.rewind, before)
            raise
        return _created(name, digest)

    async def cancel(self, request: Request) -> Response:
        name = repository(request)
        principal = await self.ctx.access.authorize(request, name, PUSH)
        upload_id = request.path_params["upload_id"]
        status = await self.ctx.read(self.uploads.status, name, upload_id, _owner(principal))
        await run(self.uploads.cancel, status)
        return Response(status_code=204)
