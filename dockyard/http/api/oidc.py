"""Keyless CI login: a project's OIDC trusts (Maintainers and above), and the exchange of
a CI job's ID token for a short-lived registry password (no other credential needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request, Response

from dockyard.admin import oidc_trusts
from dockyard.auth.oidc.login import USERNAME
from dockyard.auth.principal import Principal
from dockyard.http.access import client_address
from dockyard.http.api import guards, schemas
from dockyard.http.api.deps import ApiError, api, caller
from dockyard.http.api.oidc_schemas import ExchangeIn, ExchangeOut, ProjectGrant, TrustIn, TrustOut
from dockyard.http.requestlog import record_principal
from dockyard.oci.errors import RegistryError

router = APIRouter(tags=["keyless CI login (OIDC)"])


def _trust(record) -> TrustOut:  # noqa: ANN001
    return TrustOut(
        id=record.id,
        project=record.project_path,
        issuer=record.issuer,
        audience=record.audience,
        claims=record.claims,
        role=record.role,
        created_by=record.created_by,
        created_at=record.created_at,
    )


@router.get("/projects/{project:path}/oidc_trust", response_model=list[TrustOut])
async def list_trusts(project: str, request: Request, principal: Principal = Depends(caller)):  # noqa: ANN201
    ctx = api(request)
    await guards.project(ctx, principal, project, "manage_tokens")
    return [_trust(r) for r in await ctx.call(oidc_trusts.list_trusts, ctx.db, project)]


@router.post("/projects/{project:path}/oidc_trust", response_model=TrustOut, status_code=201)
async def create_trust(
    project: str, body: TrustIn, request: Request, principal: Principal = Depends(caller)
) -> TrustOut:
    """Trust ID tokens from an issuer, for an audience, whose claims all match."""
    ctx = api(request)
    await guards.project(ctx, principal, project, "manage_tokens")
    record = await ctx.call(
        oidc_trusts.create_trust,
        ctx.db,
        ctx.settings,
        project,
        issuer=body.issuer,
        audience=body.audience,
        claims=body.claims,
        role=body.role,
        actor=principal.actor,
    )
    return _trust(record)


@router.delete("/projects/{project:path}/oidc_trust/{trust_id}", status_code=204)
async def delete_trust(
    project: str, trust_id: schemas.Id, request: Request, principal: Principal = Depends(caller)
) -> Response:
    ctx = api(request)
    await guards.project(ctx, principal, project, "manage_tokens")
    await ctx.call(oidc_trusts.delete_trust, ctx.db, project, trust_id, principal.actor)
    return Response(status_code=204)


@router.delete("/projects/{project:path}/oidc_trust", status_code=204)
async def delete_trusts(
    project: str, request: Request, principal: Principal = Depends(caller)
) -> Response:
    """Remove every OIDC trust of the project."""
    ctx = api(request)
    await guards.project(ctx, principal, project, "manage_tokens")
    await ctx.call(oidc_trusts.delete_trusts, ctx.db, project, principal.actor)
    return Response(status_code=204)


@router.post("/oidc/token", response_model=ExchangeOut)
async def exchange(body: ExchangeIn, request: Request) -> ExchangeOut:
    """Exchange a CI job's ID token for a registry password that ends with the token, or
    within an hour; use it with ``docker login -u oidc``."""
    ctx = api(request)
    if ctx.service is None:
        raise ApiError(404, "not_found", "this registry runs without authentication")
    try:
        principal, password, expires = await ctx.call(
            ctx.service.oidc_exchange, body.token, client_address(request)
        )
    except RegistryError as error:
        status = 429 if error.status == 429 else 401
        code = "too_many_requests" if status == 429 else "unauthorized"
        raise ApiError(status, code, error.message) from None
    record_principal(request.scope, principal)
    projects = await ctx.call(oidc_trusts.granted, ctx.db, [t[0] for t in principal.trusts])
    now = int(datetime.now(UTC).timestamp())
    return ExchangeOut(
        username=USERNAME,
        password=password,
        expires_at=datetime.fromtimestamp(expires, UTC),
        expires_in=max(0, expires - now),
        projects=[ProjectGrant(project=p, role=r) for p, r in sorted(projects.items())],
    )
