"""Deletes of every tag a filter matches, run as a background job (kind ``tag_delete``).

A delete of "every tag matching this filter" may cover 100,000 tags (about ten seconds on
SQLite): longer than a page should hang. Up to ``IN_REQUEST`` tags go at once, in the
request; more are queued here, one job per repository at a time (dedupe key), and the
repository page shows the job's progress. The job deletes only tags pushed before the
confirmation and not pushed again since, so a tag a client pushes meanwhile survives; run
again after a crash, it finds what is left and finishes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from dockyard.admin.registry import DELETE_BATCH, RegistryAdmin
from dockyard.db.engine import Database
from dockyard.db.queries import jobs
from dockyard.db.queries.jobs import JobRow
from dockyard.webhooks.events import Origin

KIND = "tag_delete"
IN_REQUEST = DELETE_BATCH  # one batch: a short transaction, answered at once


def dedupe_key(repository_id: int) -> str:
    return f"tag_delete:{repository_id}"


def queue(
    db: Database, repository_id: int, name_filter: str, pushed_before: datetime, origin: Origin
) -> int | None:
    """Queue the delete; its job id, or None while another runs on this repository."""
    payload = {
        "repository_id": repository_id,
        "name_filter": name_filter,
        "pushed_before": pushed_before.isoformat(),
        "origin": asdict(origin),
    }
    with db.session(write=True) as conn:
        return jobs.enqueue(conn, KIND, payload, dedupe_key(repository_id), max_attempts=3)


def running(db: Database, repository_id: int) -> JobRow | None:
    """The repository's queued or running delete, for its page."""
    with db.session() as conn:
        return jobs.live(conn, dedupe_key(repository_id))


class TagDeletes:
    def __init__(self, admin: RegistryAdmin) -> None:
        self.admin = admin

    def run(self, payload: dict[str, Any], progress: Callable[[int, int], None]) -> None:
        repository_id = int(payload["repository_id"])
        chosen = self.admin.matching_tags(
            repository_id, payload["name_filter"], datetime.fromisoformat(payload["pushed_before"])
        )
        progress(0, len(chosen))
        self.admin.delete_tags(
            repository_id,
            sorted(chosen),
            pushed=chosen,
            origin=Origin(**payload["origin"]),
            progress=progress,
        )
