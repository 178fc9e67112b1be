"""Records -> response bodies."""

from __future__ import annotations

import json

from dockyard.db.records import TokenRecord
from dockyard.db.records_management import RepositoryRow, TagRow
from dockyard.http.api import schemas
from dockyard.registry.protection import Protection


def token(record: TokenRecord, username: str | None = None) -> schemas.TokenOut:
    return schemas.TokenOut(
        id=record.id,
        kind=record.kind,
        name=record.name,
        hint=record.hint,
        username=username or record.username,
        scopes=record.scopes.split(),
        expires_at=record.expires_at,
        revoked=record.revoked_at is not None,
        last_used_at=record.last_used_at,
        created_at=record.created_at,
    )


def repository(row: RepositoryRow, host: str) -> schemas.RepositoryOut:
    return schemas.RepositoryOut(
        id=row.id,
        name=row.name,
        location=f"{host}/{row.name}",
        created_at=row.created_at,
        status=row.status,
        tag_count=row.tag_count,
        size=row.size,
        last_pushed_at=row.last_pushed_at,
    )


def tag(
    row: TagRow, repository_name: str, host: str, protection: Protection | None = None
) -> schemas.TagOut:
    return schemas.TagOut(
        name=row.name,
        location=f"{host}/{repository_name}:{row.name}",
        digest=row.digest,
        media_type=row.media_type,
        size=row.size,
        created_at=row.created_at,
        pushed_at=row.pushed_at,
        platforms=json.loads(row.platforms) if row.platforms else [],
        referrer_count=row.referrers,
        protection=_protection(protection) if protection else None,
    )


def _protection(found: Protection) -> schemas.TagProtectionOut:
    return schemas.TagProtectionOut(
        immutable=found.immutable,
        minimum_access_level_for_push=found.minimum_access_level_for_push,
        minimum_access_level_for_delete=found.minimum_access_level_for_delete,
        rule_ids=list(found.rule_ids),
    )
