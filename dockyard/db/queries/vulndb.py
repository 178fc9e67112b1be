"""Advisories: the importer's batched writes, the matcher's reads, and status counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from dockyard.db.models import Advisory, AdvisoryImport, AffectedRange

CHUNK = 900  # bound parameters per IN list, well under every engine's limit


@dataclass(frozen=True)
class StoredState:
    modified: datetime
    withdrawn: datetime | None


@dataclass(frozen=True)
class RangeRow:
    """One affected range of a live advisory, with what a finding reports of it."""

    advisory_id: str
    aliases: tuple[str, ...]
    summary: str
    severity: str
    cvss_score: float | None
    package: str
    range_type: str
    events: tuple[tuple[str, str], ...]
    versions: tuple[str, ...]


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stored_states(conn: Connection, ids: Sequence[str]) -> dict[str, StoredState]:
    """What we hold of these advisories, to decide added, updated or unchanged."""
    found = {}
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(Advisory.id, Advisory.modified, Advisory.withdrawn).where(Advisory.id.in_(chunk))
        )
        for row in rows:
            found[row.id] = StoredState(row.modified, row.withdrawn)
    return found


def keys_of(conn: Connection, ids: Sequence[str]) -> set[tuple[str, str]]:
    """The (ecosystem, package) pairs these advisories name."""
    keys: set[tuple[str, str]] = set()
    for chunk in _chunks(ids):
        stmt = (
            select(AffectedRange.ecosystem, AffectedRange.package)
            .where(AffectedRange.advisory_id.in_(chunk))
            .distinct()
        )
        keys.update((row.ecosystem, row.package) for row in conn.execute(stmt))
    return keys


def replace(
    conn: Connection,
    remove: Sequence[str],
    advisories: Sequence[Mapping[str, Any]],
    ranges: Sequence[Mapping[str, Any]],
) -> None:
    """Delete the advisories in ``remove`` (with their ranges), then insert the new rows."""
    for chunk in _chunks(remove):
        conn.execute(delete(AffectedRange).where(AffectedRange.advisory_id.in_(chunk)))
        conn.execute(delete(Advisory).where(Advisory.id.in_(chunk)))
    if advisories:
        conn.execute(insert(Advisory), list(advisories))
    if ranges:
        conn.execute(insert(AffectedRange), list(ranges))


def record_import(conn: Connection, finished_at: datetime, counts: Mapping[str, int]) -> None:
    conn.execute(
        insert(AdvisoryImport).values(
            finished_at=finished_at,
            **{k: counts[k] for k in ("added", "updated", "withdrawn", "unchanged", "skipped")},
        )
    )


def live_ranges(conn: Connection, ecosystem: str, packages: Iterable[str]) -> list[RangeRow]:
    """Every range of a non-withdrawn advisory for these package names of one ecosystem."""
    names = sorted(set(packages))
    found = []
    for chunk in _chunks(names):
        stmt = (
            select(
                Advisory.id,
                Advisory.aliases,
                Advisory.summary,
                Advisory.severity,
                Advisory.cvss_score,
                AffectedRange.package,
                AffectedRange.range_type,
                AffectedRange.events,
                AffectedRange.versions,
            )
            .join(Advisory, Advisory.id == AffectedRange.advisory_id)
            .where(
                AffectedRange.ecosystem == ecosystem,
                AffectedRange.package.in_(chunk),
                Advisory.withdrawn.is_(None),
            )
        )
        for row in conn.execute(stmt):
            found.append(
                RangeRow(
                    advisory_id=row.id,
                    aliases=tuple(row.aliases or ()),
                    summary=row.summary,
                    severity=row.severity,
                    cvss_score=row.cvss_score,
                    package=row.package,
                    range_type=row.range_type,
                    events=tuple((e[0], e[1]) for e in row.events or ()),
                    versions=tuple(row.versions or ()),
                )
            )
    return found


@dataclass(frozen=True)
class Status:
    per_ecosystem: dict[str, int]  # live advisories naming a package of the ecosystem
    advisories: int
    withdrawn: int
    last_import: datetime | None


def status(conn: Connection) -> Status:
    per_ecosystem = {
        row.ecosystem: row.n
        for row in conn.execute(
            select(
                AffectedRange.ecosystem,
                func.count(func.distinct(AffectedRange.advisory_id)).label("n"),
            )
            .group_by(AffectedRange.ecosystem)
            .order_by(AffectedRange.ecosystem)
        )
    }
    total = conn.scalar(select(func.count()).select_from(Advisory)) or 0
    withdrawn = (
        conn.scalar(
            select(func.count()).select_from(Advisory).where(Advisory.withdrawn.is_not(None))
        )
        or 0
    )
    last = conn.scalar(select(func.max(AdvisoryImport.finished_at)))
    return Status(per_ecosystem, total, withdrawn, last)
