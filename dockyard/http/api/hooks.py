"""/projects/{path}/hooks and /groups/{path}/hooks: webhooks, their delivery log,
redelivery and the test ping. Maintainers and above (people, not tokens of deploys or
jobs), as GitLab asks for its hooks."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from dockyard.admin.hooks import Hooks, Scope
from dockyard.auth.principal import Principal
from dockyard.db.queries.hooks import DeliveryRow, HookRow
from dockyard.http.api import guards
from dockyard.http.api import hooks_schemas as schemas
from dockyard.http.api.deps import Api, api, caller
from dockyard.http.api.schemas import Id
from dockyard.http.event_origin import origin

router = APIRouter(tags=["webhooks"])
SCOPES = {"projects": "/projects/{path:path}/hooks", "groups": "/groups/{path:path}/hooks"}


def hook_out(row: HookRow) -> schemas.HookOut:
    return schemas.HookOut(
        id=row.id,
        scope=row.scope_path,
        url=row.url,
        events=row.events,
        repository_regex=row.repository_regex,
        enabled=row.enabled,
        format=row.format,
        failing=row.failing,
        consecutive_failures=row.consecutive_failures,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def delivery_out(row: DeliveryRow) -> schemas.DeliveryOut:
    return schemas.DeliveryOut(
        id=row.id,
        event=row.event,
        state=row.state,
        created_at=row.created_at,
        attempted_at=row.attempted_at,
        attempt=row.attempts,
        status_code=row.status_code,
        duration_ms=row.duration_ms,
        response_body=row.response_body,
        error=row.error,
        redelivery_of=row.redelivery_of,
    )


async def _scope(
    request: Request, principal: Principal, kind: str, path: str
) -> tuple[Api, Hooks, Scope]:
    """The hooks of the project or group in the URL, if the caller may manage them."""
    ctx = api(request)
    assert ctx.hooks is not None
    if kind == "groups":
        await guards.group(ctx, principal, path, "manage")
        return ctx, ctx.hooks, await ctx.call(ctx.hooks.group_scope, path)
    record = await guards.project(ctx, principal, path, "manage_policy")
    return ctx, ctx.hooks, Scope(record.path, project_id=record.id)


def _routes(kind: str, base: str) -> None:
    @router.get(base, response_model=list[schemas.HookOut])
    async def list_hooks(
        path: str, request: Request, principal: Principal = Depends(caller)
    ) -> list[schemas.HookOut]:
        ctx, hooks, scope = await _scope(request, principal, kind, path)
        return [hook_out(h) for h in await ctx.call(hooks.list, scope)]

    @router.post(base, response_model=schemas.HookOut, status_code=201)
    async def create_hook(
        path: str, body: schemas.HookIn, request: Request, principal: Principal = Depends(caller)
    ) -> schemas.HookOut:
        """The URL must reach a public address (or one in webhook_allowed_hosts): 400."""
        ctx, hooks, scope = await _scope(request, principal, kind, path)
        return hook_out(await ctx.call(hooks.create, scope, body.changes(), principal.actor))

    @router.get(f"{base}/{{hook_id}}", response_model=schemas.HookOut)
    async def get_hook(
        path: str, hook_id: Id, request: Request, principal: Principal = Depends(caller)
    ) -> schemas.HookOut:
        ctx, hooks, scope = await _scope(request, principal, kind, path)
        return hook_out(await ctx.call(hooks.get, scope, hook_id))

    @router.patch(f"{base}/{{hook_id}}", response_model=schemas.HookOut)
    async def change_hook(
        path: str,
        hook_id: Id,
        body: schemas.HookChange,
        request: Request,
        principal: Principal = Depends(caller),
    ) -> schemas.HookOut:
        ctx, hooks, scope = await _scope(request, principal, kind, path)
        changed = await ctx.call(hooks.update, scope, hook_id, body.changes(), principal.actor)
        return hook_out(changed)

    @router.delete(f"{base}/{{hook_id}}", status_code=204)
    async def delete_hook(
        path: str, hook_id: Id, request: Request, principal: Principal = Depends(caller)
    ) -> Response:
        ctx, hooks, scope = await _scope(request, principal, kind, path)
        await ctx.call(hooks.delete, scope, hook_id)
        return Response(status_code=204)

    @router.get(f"{base}/{{hook_id}}/deliveries", response_model=list[schemas.DeliveryOut])
    async def list_deliveries(
        path: str,
        hook_id: Id,
        request: Request,
        limit: int = Query(50, ge=1, le=500),
        principal: Principal = Depends(caller),
    ) -> list[schemas.DeliveryOut]:
        """The newest deliveries first, each with its last attempt."""
        ctx, hooks, scope = await _scope(request, principal, kind, path)
        return [delivery_out(d) for d in await ctx.call(hooks.deliveries, scope, hook_id, limit)]

    @router.post(
        f"{base}/{{hook_id}}/deliveries/{{delivery_id}}/redeliver",
        response_model=schemas.DeliveryOut,
        status_code=202,
    )
    async def redeliver(
        path: str,
        hook_id: Id,
        delivery_id: str,
        request: Request,
        principal: Principal = Depends(caller),
    ) -> schemas.DeliveryOut:
        """Queue the same body again as a new delivery (``redelivery_of`` names the first)."""
        ctx, hooks, scope = await _scope(request, principal, kind, path)
        return delivery_out(await ctx.call(hooks.redeliver, scope, hook_id, delivery_id[:36]))

    @router.post(f"{base}/{{hook_id}}/test", response_model=schemas.DeliveryOut, status_code=202)
    async def test_hook(
        path: str, hook_id: Id, request: Request, principal: Principal = Depends(caller)
    ) -> schemas.DeliveryOut:
        """Queue a ``ping`` delivery."""
        ctx, hooks, scope = await _scope(request, principal, kind, path)
        who = origin(request, ctx.settings, principal)
        return delivery_out(await ctx.call(hooks.ping, scope, hook_id, who))


for _kind, _base in SCOPES.items():
    _routes(_kind, _base)
