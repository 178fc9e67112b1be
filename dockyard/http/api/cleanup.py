"""/projects/{path}/registry/cleanup_policy: a project's cleanup policy, a preview of
what it would delete now, and the record of its runs.

Reading (the policy, a preview, the runs) needs the project's read rights, as the tags
themselves do; changing the policy needs Maintainer (``manage_policy``), as in GitLab.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Query, Request, Response

from dockyard.admin.cleanup_service import Preview, StoredPolicy
from dockyard.auth.principal import Principal
from dockyard.db.queries.cleanup import POLICY_FIELDS, RunRow
from dockyard.http.api import cleanup_schemas as schemas
from dockyard.http.api import guards
from dockyard.http.api.deps import api, caller
from dockyard.http.api.schemas import Id

router = APIRouter(tags=["cleanup policies"])
BASE = "/projects/{project:path}/registry/cleanup_policy"


def _fields(policy: object) -> dict[str, object]:
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


def _policy(stored: StoredPolicy) -> schemas.CleanupPolicyOut:
    return schemas.CleanupPolicyOut(
        **_fields(stored.policy),
        next_run_at=stored.next_run_at,
        updated_at=stored.updated_at,
        updated_by=stored.updated_by,
    )


def _preview(found: Preview, limit: int | None) -> schemas.CleanupPreview:
    def tag(t: object, reason: bool = False) -> dict[str, object]:
        shown = {"name": t.name, "digest": t.digest, "pushed_at": t.pushed_at}  # type: ignore[attr-defined]
        return {**shown, "reason": t.reason} if reason else shown  # type: ignore[attr-defined]

    return schemas.CleanupPreview(
        policy=schemas.PolicyFields(**_fields(found.policy)),
        tags_to_delete=found.to_delete,
        tags_skipped=found.skipped,
        repositories=[
            schemas.RepositoryPreview(
                repository=r.repository,
                repository_id=r.repository_id,
                tag_count=r.tag_count,
                tags_to_delete=len(r.delete),
                tags_skipped=len(r.skipped),
                tags=[schemas.PreviewTag(**tag(t)) for t in r.delete[:limit]],
                skipped=[schemas.SkippedTag(**tag(t, reason=True)) for t in r.skipped[:limit]],
            )
            for r in found.repositories
        ],
    )


def _run(row: RunRow) -> dict[str, object]:
    return {
        "id": row.id,
        "trigger": row.trigger,
        "actor": row.actor,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "status": row.status,
        "tags_deleted": row.tags_deleted,
        "tags_skipped": row.tags_skipped,
        "bytes_freed": row.bytes_freed,
        "errors": row.errors,
    }


@router.get(BASE, response_model=schemas.CleanupPolicyOut)
async def get_policy(
    project: str, request: Request, principal: Principal = Depends(caller)
) -> schemas.CleanupPolicyOut:
    """The saved policy; GitLab's defaults (disabled) when the project has none yet."""
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "read")
    return _policy(await ctx.call(ctx.cleanup.stored, record))


@router.put(BASE, response_model=schemas.CleanupPolicyOut)
async def put_policy(
    project: str,
    body: schemas.CleanupPolicyIn,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.CleanupPolicyOut:
    """Change the fields sent (the others keep their value). Saving an enabled policy
    schedules its next run one cadence from now."""
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "manage_policy")
    changes = body.changes()
    stored = await ctx.call(ctx.cleanup.save, record, changes, principal.actor, principal.name)
    return _policy(stored)


@router.post(f"{BASE}/preview", response_model=schemas.CleanupPreview)
async def preview(
    project: str,
    request: Request,
    body: schemas.CleanupPolicyIn | None = None,
    limit: int | None = Query(
        None, ge=1, le=100000, description="list at most this many tags per repository"
    ),
    principal: Principal = Depends(caller),
) -> schemas.CleanupPreview:
    """The tags the policy would delete now, per repository; the fields in the body (if
    any) replace the saved ones for this preview only. Nothing is deleted or saved.
    ``limit`` shortens the lists (a live preview needs no 10,000 rows); counts stay whole."""
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "read")
    changes = body.changes() if body is not None else {}
    return _preview(await ctx.call(ctx.cleanup.preview, record, changes), limit)


@router.get(f"{BASE}/runs", response_model=list[schemas.CleanupRunOut])
async def list_runs(  # noqa: ANN201
    project: str,
    request: Request,
    response: Response,
    page: int = Query(1, ge=1, le=100000),
    per_page: int = Query(20, ge=1, le=100),
    principal: Principal = Depends(caller),
):
    """Runs, newest first, with GitLab's paging headers (X-Total, X-Next-Page, Link)."""
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "read")
    rows, total = await ctx.call(ctx.cleanup.runs, record, (page - 1) * per_page, per_page)
    pages = max(1, math.ceil(total / per_page))
    response.headers.update(
        {
            "X-Total": str(total),
            "X-Total-Pages": str(pages),
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
        }
    )
    links = {"first": 1, "prev": page - 1 if page > 1 else None, "last": pages}
    if page < pages:
        response.headers["X-Next-Page"] = str(page + 1)
        links["next"] = page + 1
    response.headers["Link"] = ", ".join(
        f'<{request.url.include_query_params(page=n)}>; rel="{rel}"'
        for rel, n in links.items()
        if n is not None
    )
    return [schemas.CleanupRunOut(**_run(row)) for row in rows]


@router.get(f"{BASE}/runs/{{run_id}}", response_model=schemas.CleanupRunDetail)
async def get_run(
    project: str, run_id: Id, request: Request, principal: Principal = Depends(caller)
) -> schemas.CleanupRunDetail:
    """One run with its report: per repository, the tags deleted and those skipped (why)."""
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "read")
    row = await ctx.call(ctx.cleanup.run_report, record, run_id)
    report = row.report or {"repositories": [], "truncated": False}
    return schemas.CleanupRunDetail(**_run(row), **report)
