"""What garbage collection has queued, what is due, and what the last passes removed:
the REST API and the admin's storage page show it (the collector itself runs in the
background, so this is its progress)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.queries import gc as rows


@dataclass(frozen=True)
class GcStatus:
    queued: dict[str, int]  # manifests, links, blobs, storage (bytes waiting for deletion)
    due: dict[str, int]
    passes: list[dict[str, Any]]
    review_delay_seconds: int
    interval_seconds: int
    upload_grace_seconds: int
    untagged_manifests: bool


def gc_status(db: Database, settings: Settings) -> GcStatus:
    with db.session() as conn:
        queued = rows.queue_sizes(conn)
        due = rows.due_counts(conn, datetime.now(UTC))
        recent = rows.recent_passes(conn)
    passes = [{"at": at, "by": actor, **_summary(detail)} for at, actor, detail in recent]
    return GcStatus(
        queued,
        due,
        passes,
        settings.gc_review_delay_seconds,
        settings.gc_interval_seconds,
        settings.gc_upload_grace_seconds,
        settings.gc_untagged_manifests,
    )


def _summary(detail: str) -> dict[str, Any]:
    try:
        found = json.loads(detail)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
