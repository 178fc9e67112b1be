"""/projects and /groups: create, list, visibility, members, deploy and job tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request, Response

from dockyard.admin import Forbidden, accounts, creation_rights, members
from dockyard.admin import tokens as admin_tokens
from dockyard.admin import usage as admin_usage
from dockyard.admin.vuln_policy import NO_POLICY
from dockyard.auth.principal import Principal
from dockyard.db.queries.policies import PolicyRow
from dockyard.http.api import convert, guards, schemas
from dockyard.http.api.deps import api, caller, forbidden, reader

router = APIRouter(tags=["projects and groups"])


def _project(record, abilities, policy: PolicyRow = NO_POLICY, usage=None) -> schemas.ProjectOut:  # noqa: ANN001
    shown = policy
    return schemas.ProjectOut(
        storage_limit_bytes=usage.limit_bytes if usage else None,
        storage_used_bytes=usage.used_bytes if usage else 0,
        id=record.id,
        path=record.path,
        visibility=record.visibility,
        abilities=sorted(abilities),
        vulnerability_policy=schemas.VulnerabilityPolicyOut(
            block_severity=shown.block_severity,
            block_unscanned=shown.block_unscanned,
            allow_maintainers=shown.allow_maintainers,
            attach_sbom=shown.attach_sbom,
        ),
    )


@contextmanager
def _refusal_as_api_error() -> Iterator[None]:
    """A creation refused for rights is a 403 the request log records as a denial (a
    hidden group stays the admin layer's 404, as the other endpoints answer it)."""
    try:
        yield
    except Forbidden as refusal:
        raise forbidden(str(refusal)) from None


@router.get("/projects", response_model=list[schemas.ProjectOut])
async def list_projects(request: Request, principal: Principal = Depends(reader)):  # noqa: ANN201
    ctx = api(request)
    if ctx.service is None:
        visible = [(p, ["read"]) for p in await ctx.call(accounts.list_projects, ctx.db)]
    else:
        visible = await ctx.call(ctx.service.visible_projects, principal)
    policies = await ctx.call(ctx.policies.policies, [p for p, _ in visible])
    usages = await ctx.call(admin_usage.projects_usage, ctx.db, [p for p, _ in visible])
    return [_project(p, a, policies[p.id], usages[p.id]) for p, a in visible]


@router.post("/projects", response_model=schemas.ProjectOut, status_code=201)
async def create_project(
    body: schemas.ProjectCreate, request: Request, principal: Principal = Depends(caller)
) -> schemas.ProjectOut:
    """In the caller's own namespace or a group they manage (dockyard.admin.creation_rights)."""
    ctx = api(request)
    with _refusal_as_api_error():
        record = await ctx.call(
            creation_rights.create_project,
            ctx.db,
            ctx.service,
            principal,
            body.path,
            body.visibility,
        )
    usage = await ctx.call(admin_usage.project_usage, ctx.db, record.path)
    return _project(record, ["read", "admin"], usage=usage)


@router.get("/projects/{project:path}/members", response_model=list[schemas.MemberOut])
async def project_members(project: str, request: Request, principal: Principal = Depends(caller)):  # noqa: ANN201
    ctx = api(request)
    await guards.project(ctx, principal, project, "read")
    return [
        schemas.MemberOut(username=u, role=r)
        for u, r in await ctx.call(members.list_members, ctx.db, project)
    ]


@router.post("/projects/{project:path}/members", response_model=schemas.MemberOut, status_code=201)
async def add_project_member(
    project: str,
    body: schemas.MemberIn,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.MemberOut:
    return await _set_member(request, principal, project, body.username, body.role, "project")


@router.put("/projects/{project:path}/members/{username}", response_model=schemas.MemberOut)
async def change_project_member(
    project: str,
    username: str,
    body: schemas.RoleIn,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.MemberOut:
    return await _set_member(request, principal, project, username, body.role, "project")


@router.delete("/projects/{project:path}/members/{username}", status_code=204)
async def remove_project_member(
    project: str, username: str, request: Request, principal: Principal = Depends(caller)
) -> Response:
    ctx = api(request)
    await guards.project(ctx, principal, project, "manage_members")
    await ctx.call(members.remove_member, ctx.db, username, project, principal)
    return Response(status_code=204)


async def _set_member(
    request: Request, principal: Principal, path: str, username: str, role: str, kind: str
) -> schemas.MemberOut:
    """Add or change a member; the Owner rule is dockyard.admin.members'."""
    ctx = api(request)
    if kind == "project":
        await guards.project(ctx, principal, path, "manage_members")
    else:
        await guards.group(ctx, principal, path, "manage")
    await ctx.call(members.add_member, ctx.db, username, path, role, principal)
    return schemas.MemberOut(username=username, role=role)


async def _abilities(request: Request, principal: Principal, path: str, need: str) -> frozenset:
    ctx = api(request)
    await guards.project(ctx, principal, path, need)
    if ctx.service is None:
        return frozenset({"admin"})
    return await ctx.call(ctx.service.project_abilities, principal, path)


@router.get("/projects/{project:path}/deploy_tokens", response_model=list[schemas.TokenOut])
async def deploy_tokens(project: str, request: Request, principal: Principal = Depends(caller)):  # noqa: ANN201
    ctx = api(request)
    await guards.project(ctx, principal, project, "manage_tokens")
    rows = await ctx.call(admin_tokens.list_tokens, ctx.db, project=project)
    return [convert.token(r) for r in rows if r.kind == "deploy"]


@router.post(
    "/projects/{project:path}/deploy_tokens", response_model=schemas.TokenCreated, status_code=201
)
async def create_deploy_token(
    project: str,
    body: schemas.DeployTokenCreate,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.TokenCreated:
    ctx = api(request)
    await guards.project(ctx, principal, project, "manage_tokens")
    issued = await ctx.call(
        admin_tokens.create_deploy,
        ctx.db,
        project,
        body.name,
        list(body.scopes),
        body.username,
        body.expires_at,
        principal.actor,
    )
    return schemas.TokenCreated(**convert.token(issued.record).model_dump(), token=issued.secret)


@router.delete("/projects/{project:path}/deploy_tokens/{token_id}", status_code=204)
async def revoke_deploy_token(
    project: str, token_id: schemas.Id, request: Request, principal: Principal = Depends(caller)
) -> Response:
    ctx = api(request)
    await guards.project(ctx, principal, project, "manage_tokens")
    rows = await ctx.call(admin_tokens.list_tokens, ctx.db, project=project)
    if token_id not in {r.id for r in rows if r.kind == "deploy"}:
        raise forbidden("not a deploy token of this project")
    await ctx.call(admin_tokens.revoke, ctx.db, token_id, principal.actor)
    return Response(status_code=204)


@router.post(
    "/projects/{project:path}/job_tokens", response_model=schemas.TokenCreated, status_code=201
)
async def create_job_token(
    project: str,
    body: schemas.JobTokenCreate,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.TokenCreated:
    """Mint a CI job token acting for the caller (Developer or above) in this project."""
    ctx = api(request)
    await guards.project(ctx, principal, project, "start_jobs")
    issued = await ctx.call(
        admin_tokens.create_job, ctx.db, project, principal.name, body.ttl_seconds, principal.actor
    )
    return schemas.TokenCreated(
        **convert.token(issued.record, issued.username).model_dump(), token=issued.secret
    )


@router.get("/projects/{project:path}/job_tokens", response_model=list[schemas.TokenOut])
async def job_tokens(project: str, request: Request, principal: Principal = Depends(caller)):  # noqa: ANN201
    """The project's CI job tokens (the secrets are never shown again)."""
    ctx = api(request)
    await guards.project(ctx, principal, project, "manage_tokens")
    rows = await ctx.call(admin_tokens.list_tokens, ctx.db, project=project)
    return [convert.token(r, "dockyard-ci-token") for r in rows if r.kind == "job"]


@router.delete("/projects/{project:path}/job_tokens/{token_id}", status_code=204)
async def revoke_job_token(
    project: str, token_id: schemas.Id, request: Request, principal: Principal = Depends(caller)
) -> Response:
    """End a job's token early (Maintainer, or the person the job acts for)."""
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "read")
    rows = await ctx.call(admin_tokens.list_tokens, ctx.db, project=project)
    token = next((r for r in rows if r.kind == "job" and r.id == token_id), None)
    if token is None:
        raise forbidden("not a job token of this project")
    abilities = await _abilities(request, principal, record.path, "read")
    if "manage_tokens" not in abilities and token.user_id != principal.user_id:
        raise forbidden("only Maintainers or the job's own user revoke job tokens")
    await ctx.call(admin_tokens.revoke, ctx.db, token_id, principal.actor)
    return Response(status_code=204)


def _exception(row, now: datetime) -> schemas.VulnerabilityExceptionOut:  # noqa: ANN001
    return schemas.VulnerabilityExceptionOut(
        id=row.advisory_id,
        reason=row.reason,
        expires_at=row.expires_at,
        created_by=row.created_by,
        created_at=row.created_at,
        active=row.expires_at is None or row.expires_at > now,
    )


@router.get(
    "/projects/{project:path}/vulnerability_exceptions",
    response_model=list[schemas.VulnerabilityExceptionOut],
)
async def vulnerability_exceptions(  # noqa: ANN201
    project: str, request: Request, principal: Principal = Depends(caller)
):
    """Every exception, expired ones too (``active`` false: they no longer apply)."""
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "read")
    now = datetime.now(UTC)
    return [_exception(r, now) for r in await ctx.call(ctx.policies.exceptions, record)]


@router.post(
    "/projects/{project:path}/vulnerability_exceptions",
    response_model=schemas.VulnerabilityExceptionOut,
    status_code=201,
    responses={200: {"description": "an exception for this id existed and was replaced"}},
)
async def add_vulnerability_exception(
    project: str,
    body: schemas.VulnerabilityExceptionIn,
    request: Request,
    response: Response,
    principal: Principal = Depends(caller),
) -> schemas.VulnerabilityExceptionOut:
    """Accept an advisory in this project: findings whose id or alias is ``id`` stop
    counting toward the pull policy until ``expires_at``. Posting the same id again
    replaces the exception (200)."""
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "manage_policy")
    row, created = await ctx.call(
        ctx.policies.grant,
        record,
        body.id,
        body.reason,
        body.expires_at,
        principal.actor,
        principal.name,
    )
    if not created:
        response.status_code = 200
    return _exception(row, datetime.now(UTC))


@router.delete("/projects/{project:path}/vulnerability_exceptions/{advisory_id}", status_code=204)
async def delete_vulnerability_exception(
    project: str, advisory_id: str, request: Request, principal: Principal = Depends(caller)
) -> Response:
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "manage_policy")
    await ctx.call(ctx.policies.revoke, record, advisory_id, principal.actor)
    return Response(status_code=204)


@router.get("/projects/{project:path}", response_model=schemas.ProjectOut)
async def get_project(
    project: str, request: Request, principal: Principal = Depends(reader)
) -> schemas.ProjectOut:
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "read")
    policy = await ctx.call(ctx.policies.settings, record)
    usage = await ctx.call(admin_usage.project_usage, ctx.db, record.path)
    return _project(record, await _abilities(request, principal, project, "read"), policy, usage)


@router.patch("/projects/{project:path}", response_model=schemas.ProjectOut)
async def update_project(
    project: str,
    body: schemas.ProjectUpdate,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.ProjectOut:
    """Change only what the body names: ``visibility`` takes the Owner role,
    ``vulnerability_policy`` (itself partial) the Maintainer role,
    ``storage_limit_bytes`` (null removes the limit) an administrator."""
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "read")
    if body.visibility is not None:
        await guards.project(ctx, principal, project, "admin")
    if body.vulnerability_policy is not None:
        await guards.project(ctx, principal, project, "manage_policy")
    new_limit = "storage_limit_bytes" in body.model_fields_set
    if new_limit:
        guards.admin_only(principal)
    if body.visibility is not None:
        record = await ctx.call(accounts.set_visibility, ctx.db, project, body.visibility)
    if body.vulnerability_policy is not None:
        changes = body.vulnerability_policy.model_dump(
            include=body.vulnerability_policy.model_fields_set
        )
        await ctx.call(ctx.policies.update, record, changes, principal.actor)
    if new_limit:
        limit = body.storage_limit_bytes
        await ctx.call(admin_usage.set_project_limit, ctx.db, project, limit, principal.actor)
        if ctx.quota is not None:
            ctx.quota.changed()
    policy = await ctx.call(ctx.policies.settings, record)
    usage = await ctx.call(admin_usage.project_usage, ctx.db, record.path)
    return _project(record, await _abilities(request, principal, project, "read"), policy, usage)


@router.delete("/projects/{project:path}", status_code=204)
async def delete_project(
    project: str, request: Request, principal: Principal = Depends(caller)
) -> Response:
    ctx = api(request)
    await guards.project(ctx, principal, project, "admin")
    await ctx.call(accounts.delete_project, ctx.db, project)
    return Response(status_code=204)


@router.get("/groups", response_model=list[schemas.GroupOut])
async def list_groups(request: Request, principal: Principal = Depends(caller)):  # noqa: ANN201
    ctx = api(request)
    paths = await ctx.call(accounts.list_groups, ctx.db)
    if ctx.service is not None and not principal.is_admin:
        paths = [
            p for p in paths if "read" in await ctx.call(ctx.service.group_abilities, principal, p)
        ]
    usages = await ctx.call(admin_usage.groups_usage, ctx.db, paths)
    return [_group(usages[p]) for p in paths]


def _group(usage: admin_usage.Usage) -> schemas.GroupOut:
    return schemas.GroupOut(
        path=usage.path,
        storage_limit_bytes=usage.limit_bytes,
        storage_used_bytes=usage.used_bytes,
    )


@router.post("/groups", response_model=schemas.GroupOut, status_code=201)
async def create_group(
    body: schemas.GroupCreate, request: Request, principal: Principal = Depends(caller)
) -> schemas.GroupOut:
    """Anyone signed in may create a top-level group (and owns it); subgroups need Maintainer."""
    ctx = api(request)
    with _refusal_as_api_error():
        await ctx.call(creation_rights.create_group, ctx.db, ctx.service, principal, body.path)
    return schemas.GroupOut(path=body.path)


@router.get("/groups/{group:path}/members", response_model=list[schemas.MemberOut])
async def group_members(group: str, request: Request, principal: Principal = Depends(caller)):  # noqa: ANN201
    ctx = api(request)
    await guards.group(ctx, principal, group, "read")
    return [
        schemas.MemberOut(username=u, role=r)
        for u, r in await ctx.call(members.list_members, ctx.db, group)
    ]


@router.post("/groups/{group:path}/members", response_model=schemas.MemberOut, status_code=201)
async def add_group_member(
    group: str, body: schemas.MemberIn, request: Request, principal: Principal = Depends(caller)
) -> schemas.MemberOut:
    return await _set_member(request, principal, group, body.username, body.role, "group")


@router.put("/groups/{group:path}/members/{username}", response_model=schemas.MemberOut)
async def change_group_member(
    group: str,
    username: str,
    body: schemas.RoleIn,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.MemberOut:
    return await _set_member(request, principal, group, username, body.role, "group")


@router.delete("/groups/{group:path}/members/{username}", status_code=204)
async def remove_group_member(
    group: str, username: str, request: Request, principal: Principal = Depends(caller)
) -> Response:
    ctx = api(request)
    await guards.group(ctx, principal, group, "manage")
    await ctx.call(members.remove_member, ctx.db, username, group, principal)
    return Response(status_code=204)


# After every /groups/{group}/... route: {group:path} would swallow their suffixes.
@router.get("/groups/{group:path}", response_model=schemas.GroupOut)
async def get_group(
    group: str, request: Request, principal: Principal = Depends(caller)
) -> schemas.GroupOut:
    ctx = api(request)
    await guards.group(ctx, principal, group, "read")
    return _group(await ctx.call(admin_usage.group_usage, ctx.db, group))


@router.patch("/groups/{group:path}", response_model=schemas.GroupOut)
async def update_group(
    group: str,
    body: schemas.GroupUpdate,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.GroupOut:
    """Change only what the body names: ``storage_limit_bytes`` (null removes the limit)
    takes an administrator."""
    ctx = api(request)
    await guards.group(ctx, principal, group, "read")
    if "storage_limit_bytes" in body.model_fields_set:
        guards.admin_only(principal)
        limit = body.storage_limit_bytes
        await ctx.call(admin_usage.set_group_limit, ctx.db, group, limit, principal.actor)
        if ctx.quota is not None:
            ctx.quota.changed()
    return _group(await ctx.call(admin_usage.group_usage, ctx.db, group))
