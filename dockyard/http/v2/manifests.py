"""/v2/<name>/manifests/<reference>: exact bytes in, exact bytes out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dockyard.admin.vuln_policy import PullPolicies, Unknown
from dockyard.auth.principal import Principal
from dockyard.http.access import DELETE, PULL, PUSH
from dockyard.http.event_origin import origin
from dockyard.http.v2.common import Context, body, declared_length, repository, run
from dockyard.oci.errors import Code, RegistryError
from dockyard.registry.protection import TagGuard


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it passes ``limit`` (never buffer more)."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    parts: list[bytes] = []
    total = 0
    async for chunk in body(request):
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def _too_large(limit: int) -> RegistryError:
    return RegistryError(
        Code.MANIFEST_INVALID,
        f"manifest is larger than {limit} bytes",
        {"limit": limit},
        status=413,
    )


class Endpoints:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.manifests = ctx.registry.manifests

    async def get(self, request: Request) -> Response:
        name = repository(request)
        principal = await self.ctx.access.authorize(request, name, PULL)
        reference = request.path_params["reference"]
        accept = ",".join(request.headers.getlist("accept"))  # clients may send several
        found = await self.ctx.read(self.manifests.get, name, reference, accept)
        if request.method == "GET" and self.ctx.policies is not None:
            await self._check_policy(self.ctx.policies, name, found.digest, principal)
        headers = {
            "Docker-Content-Digest": found.digest,
            "ETag": f'"{found.digest}"',
            "Content-Length": str(found.size),
        }
        body = b"" if request.method == "HEAD" else found.payload
        return Response(body, headers=headers, media_type=found.media_type)

    async def _check_policy(
        self, policies: PullPolicies, name: str, digest: str, principal: Principal
    ) -> None:
        """403 DENIED when the project's vulnerability policy blocks this manifest. Only
        GET: a HEAD hands out no content, and every client GETs before it pulls. The
        external scanner adapter is never refused: it pulls to produce the very scan a
        ``block_unscanned`` policy waits for."""
        if principal.kind == "scanner":
            return
        guard = policies.cached_guard(name)
        if isinstance(guard, Unknown):
            guard = await self.ctx.read(policies.guard, name)
        if guard is None:
            return
        message = await run(policies.refusal, guard, name, digest, principal)
        if message is not None:
            raise RegistryError(Code.DENIED, message, {"repository": name, "digest": digest})

    async def put(self, request: Request) -> Response:
        name = repository(request)
        principal = await self.ctx.access.authorize(request, name, PUSH)
        payload = await read_limited(request, self.manifests.max_bytes)
        content_type = request.headers.get("content-type", "")
        reference = request.path_params["reference"]
        guard = await self._guard(principal, name, reference)
        who = origin(request, self.ctx.settings, principal)
        stored = await run(self.manifests.put, name, reference, payload, content_type, guard, who)
        headers = {
            "Location": f"/v2/{name}/manifests/{stored.digest}",
            "Docker-Content-Digest": str(stored.digest),
        }
        if stored.subject is not None:
            headers["OCI-Subject"] = str(stored.subject)
        target = f"{name}@{stored.digest}"
        await self.ctx.access.audit(request, principal, "push", target)
        return Response(status_code=201, headers=headers)

    async def delete(self, request: Request) -> Response:
        name = repository(request)
        principal = await self.ctx.access.authorize(request, name, DELETE)
        if not self.ctx.settings.delete_enabled:
            raise RegistryError(Code.UNSUPPORTED, "deletes are disabled on this registry")
        reference = request.path_params["reference"]
        guard = await self._guard(principal, name, reference, delete=True)
        who = origin(request, self.ctx.settings, principal)
        await run(self.manifests.delete, name, reference, guard, who)
        await self.ctx.access.audit(request, principal, "delete", f"{name}:{reference}")
        return Response(status_code=202)

    async def _guard(
        self, principal: Principal, name: str, reference: str, delete: bool = False
    ) -> TagGuard | None:
        """The tag protection rules this write must pass; None, from a cache, when the
        project has none or none matches the tag."""
        if self.ctx.protection is None:
            return None
        guard = self.ctx.protection.guard
        return await self.ctx.read(guard, principal, name, reference, delete)
