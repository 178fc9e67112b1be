"""/projects/{path}/registry/protection/tag_rules: protected and immutable tags.

Anyone who may read the project may list its rules (so a refused push can be explained);
Maintainers add and remove protection rules and Owners immutable ones, never a rule
stronger than their own access level (dockyard/admin/tag_rules.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from dockyard.auth.principal import Principal
from dockyard.db.queries.protection import TagRuleRow
from dockyard.http.api import guards, schemas
from dockyard.http.api.deps import api, caller

router = APIRouter(tags=["tag protection"])
PATH = "/projects/{project:path}/registry/protection/tag_rules"
Level = Literal["maintainer", "owner", "admin"]


class TagRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag_name_pattern: str = Field(
        min_length=1,
        max_length=100,
        description="RE2 regular expression matched against the whole tag name, e.g. v.*",
    )
    minimum_access_level_for_push: Level | None = Field(
        default=None, description="required unless immutable; omit for an immutable rule"
    )
    minimum_access_level_for_delete: Level | None = Field(
        default=None, description="required unless immutable; omit for an immutable rule"
    )
    immutable: StrictBool = Field(
        default=False, description="matching tags may be created, then never moved or deleted"
    )


class TagRuleOut(BaseModel):
    id: int
    tag_name_pattern: str
    minimum_access_level_for_push: Level | None
    minimum_access_level_for_delete: Level | None
    immutable: bool
    created_by: str
    created_at: datetime


def _out(row: TagRuleRow) -> TagRuleOut:
    return TagRuleOut(
        id=row.id,
        tag_name_pattern=row.tag_name_pattern,
        minimum_access_level_for_push=row.minimum_access_level_for_push,  # type: ignore[arg-type]
        minimum_access_level_for_delete=row.minimum_access_level_for_delete,  # type: ignore[arg-type]
        immutable=row.immutable,
        created_by=row.created_by,
        created_at=row.created_at,
    )


@router.get(PATH, response_model=list[TagRuleOut])
async def list_tag_rules(  # noqa: ANN201
    project: str, request: Request, principal: Principal = Depends(caller)
):
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "read")
    return [_out(row) for row in await ctx.call(ctx.tag_rules.list, record)]


@router.post(PATH, response_model=TagRuleOut, status_code=201)
async def add_tag_rule(
    project: str, body: TagRuleIn, request: Request, principal: Principal = Depends(caller)
) -> TagRuleOut:
    """Protect the tags ``tag_name_pattern`` matches in every repository of the project."""
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "manage_policy")
    level = await ctx.call(ctx.protection.level, principal, record.path)
    row = await ctx.call(
        ctx.tag_rules.add,
        record,
        body.tag_name_pattern,
        body.minimum_access_level_for_push,
        body.minimum_access_level_for_delete,
        body.immutable,
        level,
        principal.actor,
    )
    return _out(row)


@router.delete(PATH + "/{rule_id}", status_code=204)
async def remove_tag_rule(
    project: str, rule_id: schemas.Id, request: Request, principal: Principal = Depends(caller)
) -> Response:
    ctx = api(request)
    record = await guards.project(ctx, principal, project, "manage_policy")
    level = await ctx.call(ctx.protection.level, principal, record.path)
    await ctx.call(ctx.tag_rules.remove, record, rule_id, level, principal.actor)
    return Response(status_code=204)
