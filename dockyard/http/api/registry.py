"""/projects/{path}/registry, /groups/{path}/registry and /registry/repositories/{id}:
image repositories and their tags, with server-side filtering, sorting and paging."""

from __future__ import annotations

import math
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from dockyard.admin import usage as admin_usage
from dockyard.admin.cleanup import CleanupRules
from dockyard.auth.principal import Principal
from dockyard.http import event_origin
from dockyard.http.api import convert, guards, schemas
from dockyard.http.api.deps import Api, ApiError, api, caller, reader
from dockyard.http.cursors import parse_tag_cursor, tag_cursor
from dockyard.http.event_origin import origin
from dockyard.oci.errors import RegistryError
from dockyard.registry.promotion import parse_target

router = APIRouter(tags=["registry"])
TagSort = Literal["name", "-name", "pushed_at", "-pushed_at"]


def registry_host(request: Request, ctx: Api) -> str:
    return event_origin.registry_host(request, ctx.settings)


@router.get(
    "/projects/{project:path}/registry/repositories", response_model=list[schemas.RepositoryOut]
)
async def project_repositories(
    project: str,
    request: Request,
    name: str = Query("", max_length=255),
    principal: Principal = Depends(reader),
):  # noqa: ANN201
    ctx = api(request)
    await guards.project(ctx, principal, project, "read")
    rows = await ctx.call(ctx.registry.project_repositories, project, name)
    return [convert.repository(r, registry_host(request, ctx)) for r in rows]


@router.get(
    "/groups/{group:path}/registry/repositories", response_model=list[schemas.RepositoryOut]
)
async def group_repositories(
    group: str,
    request: Request,
    name: str = Query("", max_length=255),
    principal: Principal = Depends(caller),
):  # noqa: ANN201
    """Repositories of every project under the group that the caller may read."""
    ctx = api(request)
    await guards.group(ctx, principal, group, "read")
    rows = await ctx.call(ctx.registry.repositories_under, [group], name)
    if ctx.service is not None:
        readable = await ctx.call(ctx.service.readable, principal)
        rows = [r for r in rows if readable(r.name)]
    return [convert.repository(r, registry_host(request, ctx)) for r in rows]


@router.get("/projects/{project:path}/usage", response_model=schemas.Usage)
async def project_usage(
    project: str, request: Request, principal: Principal = Depends(caller)
) -> schemas.Usage:
    ctx = api(request)
    await guards.project(ctx, principal, project, "read")
    return _usage(await ctx.call(admin_usage.project_usage, ctx.db, project))


@router.get("/groups/{group:path}/usage", response_model=schemas.Usage)
async def group_usage(
    group: str, request: Request, principal: Principal = Depends(caller)
) -> schemas.Usage:
    ctx = api(request)
    await guards.group(ctx, principal, group, "read")
    return _usage(await ctx.call(admin_usage.group_usage, ctx.db, group))


def _usage(usage: admin_usage.Usage) -> schemas.Usage:
    return schemas.Usage(path=usage.path, size=usage.used_bytes, limit_bytes=usage.limit_bytes)


@router.get("/registry/repositories/{repository_id}", response_model=schemas.RepositoryOut)
async def get_repository(
    repository_id: schemas.Id, request: Request, principal: Principal = Depends(reader)
) -> schemas.RepositoryOut:
    ctx = api(request)
    row = await guards.repository(ctx, principal, repository_id, "read")
    return convert.repository(row, registry_host(request, ctx))


@router.get("/registry/repositories/{repository_id}/usage", response_model=schemas.Usage)
async def repository_usage(
    repository_id: schemas.Id, request: Request, principal: Principal = Depends(caller)
) -> schemas.Usage:
    ctx = api(request)
    row = await guards.repository(ctx, principal, repository_id, "read")
    return _usage(await ctx.call(admin_usage.repository_usage, ctx.db, row.id, row.name))


@router.delete(
    "/registry/repositories/{repository_id}", status_code=202, response_model=schemas.RepositoryOut
)
async def delete_repository(
    repository_id: schemas.Id, request: Request, principal: Principal = Depends(caller)
) -> schemas.RepositoryOut:
    """Schedule the deletion; the repository's ``status`` tells how it goes."""
    ctx = api(request)
    row = await guards.repository(ctx, principal, repository_id, "delete")
    refusal = await ctx.call(
        ctx.protection.repository_delete_refusal, principal, row.name, repository_id
    )
    if refusal is not None:
        raise ApiError(403, "denied", refusal)
    who = origin(request, ctx.settings, principal)
    row = await ctx.call(ctx.registry.schedule_delete, repository_id, who)
    return convert.repository(row, registry_host(request, ctx))


def _cursor(sort: str, row: schemas.TagOut) -> str:
    return tag_cursor(sort, row.name, row.pushed_at)


def _after(sort: str, cursor: str) -> tuple[object, ...]:
    try:
        return parse_tag_cursor(sort, cursor)
    except ValueError:
        raise ApiError(400, "invalid", "last is not a cursor from a previous page") from None


def _links(request: Request, **pages: int | str | None) -> str:
    parts = []
    for rel, value in pages.items():
        if value is None:
            continue
        key = "last" if isinstance(value, str) else "page"
        url = request.url.include_query_params(**{key: value})
        parts.append(f'<{url}>; rel="{rel}"')
    return ", ".join(parts)


@router.get("/registry/repositories/{repository_id}/tags", response_model=list[schemas.TagOut])
async def list_tags(
    repository_id: schemas.Id,
    request: Request,
    response: Response,
    name: str = Query("", max_length=128, description="Substring of the tag name."),
    sort: TagSort = "name",
    page: int = Query(1, ge=1, le=100000),
    per_page: int = Query(20, ge=1, le=100),
    pagination: Literal["offset", "keyset"] = "offset",
    last: str | None = Query(None, max_length=512, description="Keyset cursor (Link rel=next)."),
    principal: Principal = Depends(reader),
):  # noqa: ANN201
    ctx = api(request)
    repo = await guards.repository(ctx, principal, repository_id, "read")
    key, descending = sort.lstrip("-"), sort.startswith("-")
    query = {"name_filter": name, "sort": key, "descending": descending, "limit": per_page}
    if pagination == "keyset":
        query["after"] = _after(sort, last) if last else None
    else:
        query["offset"] = (page - 1) * per_page
    found = await ctx.call(ctx.registry.tags, repository_id, **query)
    host = registry_host(request, ctx)
    locks = await ctx.call(ctx.protection.protections, repo.name, [r.name for r in found.rows])
    rows = [convert.tag(r, repo.name, host, locks.get(r.name)) for r in found.rows]
    pages = max(1, math.ceil(found.total / per_page))
    response.headers.update({"X-Total": str(found.total), "X-Per-Page": str(per_page)})
    if pagination == "keyset":
        more = len(rows) == per_page
        link = _links(request, next=_cursor(sort, rows[-1]) if more and rows else None)
    else:
        response.headers.update({"X-Page": str(page), "X-Total-Pages": str(pages)})
        if page < pages:
            response.headers["X-Next-Page"] = str(page + 1)
        link = _links(
            request,
            first=1,
            prev=page - 1 if page > 1 else None,
            next=page + 1 if page < pages else None,
            last=pages,
        )
    if link:
        response.headers["Link"] = link
    return rows


@router.get(
    "/registry/repositories/{repository_id}/tags/{tag}", response_model=schemas.TagDetailOut
)
async def tag_detail(
    repository_id: schemas.Id, tag: str, request: Request, principal: Principal = Depends(reader)
) -> schemas.TagDetailOut:
    ctx = api(request)
    repo = await guards.repository(ctx, principal, repository_id, "read")
    detail = await ctx.call(ctx.registry.tag_detail, repository_id, tag)
    locks = await ctx.call(ctx.protection.protections, repo.name, [tag])
    base = convert.tag(detail.tag, repo.name, registry_host(request, ctx), locks.get(tag))
    return schemas.TagDetailOut(
        **base.model_dump(),
        manifest=detail.manifest,
        config=detail.config,
        layers=detail.layers,
        platform_manifests=detail.platforms,
        referrers=detail.referrers,
    )


@router.delete("/registry/repositories/{repository_id}/tags/{tag}", status_code=204)
async def delete_tag(
    repository_id: schemas.Id, tag: str, request: Request, principal: Principal = Depends(caller)
) -> Response:
    ctx = api(request)
    repo = await guards.repository(ctx, principal, repository_id, "delete")
    await ctx.call(ctx.registry.tag, repository_id, tag)
    await _may_delete(request, principal, repo.name, [tag])
    who = origin(request, ctx.settings, principal)
    await ctx.call(ctx.registry.delete_tags, repository_id, [tag], None, who)
    await _audit(request, principal, f"{repo.name}:{tag}")
    return Response(status_code=204)


@router.post(
    "/registry/repositories/{repository_id}/tags/{tag}/copy",
    response_model=schemas.TagCopied,
    status_code=201,
)
async def copy_tag(
    repository_id: schemas.Id,
    tag: str,
    body: schemas.TagCopy,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.TagCopied:
    """Promote without transfer: point ``target`` at this tag's image by reference (rows,
    not bytes). Needs pull here and push on the target's project; the target obeys its
    tag protection and quota, and an image this project's vulnerability policy would
    not let the caller pull cannot be promoted either."""
    ctx = api(request)
    repo = await guards.repository(ctx, principal, repository_id, "read")
    try:
        target, target_tag = parse_target(body.target, tag)
    except RegistryError as error:
        raise ApiError(400, "invalid", f"target {body.target!r}: {error.message}") from None
    owner = await ctx.call(ctx.registry.owning_project, target)
    if owner is None:
        raise ApiError(404, "not_found", f"no project holds {target}: create the project first")
    await guards.project(ctx, principal, owner, "push")
    source = await ctx.call(ctx.registry.tag, repository_id, tag)
    await _may_pull(ctx, principal, repo.name, source.digest)
    guard = await ctx.call(ctx.protection.guard, principal, target, target_tag)
    assert ctx.promotion is not None
    try:
        who = origin(request, ctx.settings, principal)
        copied = await ctx.call(
            ctx.promotion.copy, repo.name, tag, target, target_tag, guard, body.referrers, who
        )
    except RegistryError as error:
        raise ApiError(error.status, error.code.value.code.lower(), error.message) from None
    if ctx.service is not None:
        client = request.client.host if request.client else None
        what = f"{repo.name}:{tag} -> {target}:{target_tag}"
        await ctx.call(ctx.service.audit, principal, "copy", what, client)
    return schemas.TagCopied(
        source=f"{repo.name}:{tag}",
        target=f"{target}:{target_tag}",
        digest=copied.digest,
        manifests=copied.manifests,
        blobs=copied.blobs,
        pull=f"{registry_host(request, ctx)}/{target}@{copied.digest}",
    )


async def _may_pull(ctx: Api, principal: Principal, name: str, digest: str) -> None:
    """403 when the source project's vulnerability policy blocks the caller's pull."""
    guard = await ctx.call(ctx.policies.guard, name)
    if guard is None:
        return
    refusal = await ctx.call(ctx.policies.refusal, guard, name, digest, principal)
    if refusal is not None:
        raise ApiError(403, "denied", refusal)


@router.post(
    "/registry/repositories/{repository_id}/tags/delete", response_model=schemas.DeletedTags
)
async def delete_selected_tags(
    repository_id: schemas.Id,
    body: schemas.TagSelection,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.DeletedTags:
    """Delete exactly the listed tags (what the UI's bulk selection sends)."""
    ctx = api(request)
    repo = await guards.repository(ctx, principal, repository_id, "delete")
    await _may_delete(request, principal, repo.name, body.tags)
    who = origin(request, ctx.settings, principal)
    await ctx.call(ctx.registry.delete_tags, repository_id, body.tags, None, who)
    await _audit(request, principal, f"{repo.name}: {len(body.tags)} tags")
    return schemas.DeletedTags(tags=body.tags, dry_run=False)


@router.post(
    "/registry/repositories/{repository_id}/tags/bulk-delete", response_model=schemas.DeletedTags
)
async def bulk_delete(
    repository_id: schemas.Id,
    body: schemas.BulkDelete,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.DeletedTags:
    """Delete by rules: RE2 patterns (matched in full), keep_n newest, older_than; never
    'latest'. ``dry_run`` lists what would go and deletes nothing. A chosen tag the
    caller may not delete (a protected or immutable one) refuses the whole request, the
    dry run too, so it predicts the real one: exclude it with ``name_regex_keep``."""
    ctx = api(request)
    repo = await guards.repository(ctx, principal, repository_id, "delete")
    rules = CleanupRules(body.name_regex_delete, body.name_regex_keep, body.keep_n, body.older_than)
    chosen = await ctx.call(ctx.registry.bulk_delete, repository_id, rules, True)
    await _may_delete(request, principal, repo.name, chosen)
    if not body.dry_run and chosen:
        who = origin(request, ctx.settings, principal)
        await ctx.call(ctx.registry.delete_tags, repository_id, chosen, None, who)
    if not body.dry_run:
        await _audit(request, principal, f"{repo.name}: {len(chosen)} tags by rule")
    return schemas.DeletedTags(tags=chosen, dry_run=body.dry_run)


async def _may_delete(request: Request, principal: Principal, name: str, tags: list[str]) -> None:
    """403 ``denied`` naming the rule when one of ``tags`` is immutable, or protected
    above the caller's access level; nothing is deleted then."""
    ctx = api(request)
    refusal = await ctx.call(ctx.protection.delete_refusal, principal, name, tags)
    if refusal is not None:
        raise ApiError(403, "denied", refusal)


async def _audit(request: Request, principal: Principal, target: str) -> None:
    ctx = api(request)
    if ctx.service is not None:
        client = request.client.host if request.client else None
        await ctx.call(ctx.service.audit, principal, "delete", target, client)
