"""Numbers the metrics endpoint reports: cheap aggregate queries, one round trip each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from dockyard.db.models import Blob, Repository, Upload


@dataclass(frozen=True)
class RegistryStats:
    storage_bytes: int  # every verified blob, counted once however many repositories link it
    blobs: int
    uploads_open: int  # sessions touched within the upload TTL
    uploads_idle: int  # sessions past the TTL, waiting for the purge loop
    deletions_pending: int  # repositories scheduled or being deleted


def registry_stats(conn: Connection, upload_ttl: timedelta) -> RegistryStats:
    size, count = conn.execute(select(func.coalesce(func.sum(Blob.size), 0), func.count())).one()
    cutoff = datetime.now(UTC) - upload_ttl
    idle = conn.scalar(select(func.count()).where(Upload.updated_at < cutoff)) or 0
    total = conn.scalar(select(func.count()).select_from(Upload)) or 0
    pending = conn.scalar(
        select(func.count()).where(Repository.status.in_(("delete_scheduled", "delete_ongoing")))
    )
    return RegistryStats(int(size), int(count), int(total - idle), int(idle), int(pending or 0))
