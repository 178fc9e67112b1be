"""Tag protection rules, and the reads a protected tag write or delete makes under lock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from dockyard.db.engine import mark_changed
from dockyard.db.models import Manifest, Project, Repository, Tag, TagProtectionRule
from dockyard.db.queries._upsert import insert_for

PROTECTION = "protection"  # the change name dockyard.shared publishes

_RULE = TagProtectionRule


@dataclass(frozen=True, slots=True)
class TagRuleRow:
    id: int
    project_id: int
    tag_name_pattern: str
    minimum_access_level_for_push: str | None
    minimum_access_level_for_delete: str | None
    immutable: bool
    created_by: str
    created_at: datetime


_COLUMNS = (
    _RULE.id,
    _RULE.project_id,
    _RULE.tag_name_pattern,
    _RULE.minimum_access_level_for_push,
    _RULE.minimum_access_level_for_delete,
    _RULE.immutable,
    _RULE.created_by,
    _RULE.created_at,
)


def rules_of(conn: Connection, project_id: int) -> list[TagRuleRow]:
    """The project's rules, oldest first (one indexed read; none is the common case)."""
    stmt = select(*_COLUMNS).where(_RULE.project_id == project_id).order_by(_RULE.id)
    return [TagRuleRow(*row) for row in conn.execute(stmt)]


def rule(conn: Connection, project_id: int, rule_id: int) -> TagRuleRow | None:
    stmt = select(*_COLUMNS).where(_RULE.project_id == project_id, _RULE.id == rule_id)
    row = conn.execute(stmt).first()
    return TagRuleRow(*row) if row else None


def count_rules(conn: Connection, project_id: int, immutable: bool) -> int:
    """How many rules of one kind the project has; the project row is locked first, so
    two concurrent additions cannot both pass a limit."""
    project = select(Project.id).where(Project.id == project_id)
    conn.execute(project.with_for_update(key_share=True))
    stmt = select(func.count()).where(_RULE.project_id == project_id, _RULE.immutable == immutable)
    return int(conn.scalar(stmt) or 0)


def add_rule(
    conn: Connection,
    project_id: int,
    pattern: str,
    push: str | None,
    delete_: str | None,
    immutable: bool,
    created_by: str,
) -> TagRuleRow | None:
    """The new rule, or None when the project has a rule of this kind for this pattern."""
    stmt = (
        insert_for(conn, _RULE)
        .values(
            project_id=project_id,
            tag_name_pattern=pattern,
            minimum_access_level_for_push=push,
            minimum_access_level_for_delete=delete_,
            immutable=immutable,
            created_by=created_by,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["project_id", "immutable", "tag_name_pattern"])
        .returning(_RULE.id)
    )
    new_id = conn.execute(stmt).scalar()
    mark_changed(conn, PROTECTION)
    return rule(conn, project_id, new_id) if new_id is not None else None


def delete_rule(conn: Connection, project_id: int, rule_id: int) -> bool:
    stmt = delete(_RULE).where(_RULE.project_id == project_id, _RULE.id == rule_id)
    mark_changed(conn, PROTECTION)
    return bool(conn.execute(stmt).rowcount)


def lock_repository(conn: Connection, repository_id: int) -> None:
    """Serialise writers of a repository's protected tags (PostgreSQL: FOR NO KEY UPDATE,
    which ordinary pushes inserting rows that reference the repository do not wait on;
    SQLite: writers are serial already)."""
    stmt = select(Repository.id).where(Repository.id == repository_id)
    conn.execute(stmt.with_for_update(key_share=True))


def tag_digest(conn: Connection, repository_id: int, name: str) -> str | None:
    """The digest the tag points at now, or None when there is no such tag."""
    stmt = (
        select(Manifest.digest)
        .join(Tag, Tag.manifest_id == Manifest.id)
        .where(Tag.repository_id == repository_id, Tag.name == name)
    )
    return conn.scalar(stmt)


def locked_manifest_tags(conn: Connection, repository_id: int, digest: str) -> list[str]:
    """The tags on a manifest, with the manifest row locked first: until this transaction
    ends no one can point another tag at it."""
    locked = select(Manifest.id).where(
        Manifest.repository_id == repository_id, Manifest.digest == digest
    )
    manifest_id = conn.scalar(locked.with_for_update())
    if manifest_id is None:
        return []
    stmt = select(Tag.name).where(Tag.manifest_id == manifest_id).order_by(Tag.name)
    return list(conn.scalars(stmt))


def tag_names(conn: Connection, repository_id: int) -> list[str]:
    stmt = select(Tag.name).where(Tag.repository_id == repository_id).order_by(Tag.name)
    return list(conn.scalars(stmt))
