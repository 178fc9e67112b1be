"""Webhooks and their deliveries. ``queue`` runs in the caller's transaction: the
delivery row and the job that sends it commit or roll back with the change itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Connection

from dockyard.db.models import Project, Webhook, WebhookDelivery
from dockyard.db.queries import jobs

KIND = "webhook"  # the job kind that sends one delivery
MAX_ATTEMPTS = 10
RESPONSE_KEEP = 1024  # characters of a receiver's answer kept in the log


@dataclass(frozen=True)
class HookRow:
    id: int
    scope_path: str
    url: str
    events: list[str]
    repository_regex: str | None
    format: str
    enabled: bool
    failing: bool
    consecutive_failures: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class Subscriber:
    id: int
    events: list[str]
    repository_regex: str | None
    scope_path: str
    of_project: bool  # a project's hook (else a group's)
    project: str | None  # the path of the event's project


@dataclass(frozen=True)
class DeliveryRow:
    id: str
    hook_id: int
    event: str
    body: str
    state: str
    attempts: int
    created_at: datetime
    attempted_at: datetime | None
    status_code: int | None
    duration_ms: int | None
    response_body: str | None
    error: str | None
    redelivery_of: str | None


@dataclass(frozen=True)
class Target:
    """What the sender needs: the delivery and where and how to send it."""

    delivery: DeliveryRow
    url: str
    secret: str
    format: str
    enabled: bool  # a disabled hook's queued deliveries are dropped, not sent


_HOOK = (
    Webhook.id, Webhook.scope_path, Webhook.url, Webhook.events, Webhook.repository_regex,
    Webhook.format, Webhook.enabled, Webhook.failing, Webhook.consecutive_failures,
    Webhook.last_error, Webhook.created_at, Webhook.updated_at, Webhook.updated_by,
)  # fmt: skip


def _hook(row: Any) -> HookRow:
    values = list(row)
    values[3] = [e for e in values[3].split(",") if e]
    return HookRow(*values)


def create(
    conn: Connection,
    scope_path: str,
    *,
    project_id: int | None,
    namespace_id: int | None,
    fields: dict[str, Any],
    actor: str,
) -> int:
    now = datetime.now(UTC)
    values = {**fields, "events": ",".join(fields["events"])}
    return conn.execute(
        Webhook.__table__.insert()
        .values(
            scope_path=scope_path,
            project_id=project_id,
            namespace_id=namespace_id,
            failing=False,
            consecutive_failures=0,
            created_at=now,
            updated_at=now,
            updated_by=actor,
            **values,
        )
        .returning(Webhook.id)
    ).scalar_one()


def list_for(conn: Connection, scope_path: str) -> list[HookRow]:
    stmt = select(*_HOOK).where(Webhook.scope_path == scope_path).order_by(Webhook.id)
    return [_hook(row) for row in conn.execute(stmt)]


def get(conn: Connection, scope_path: str, hook_id: int) -> HookRow | None:
    stmt = select(*_HOOK).where(Webhook.scope_path == scope_path, Webhook.id == hook_id)
    row = conn.execute(stmt).first()
    return _hook(row) if row is not None else None


def change(conn: Connection, hook_id: int, changes: dict[str, Any], actor: str) -> None:
    """Save an edit; an edit also clears ``failing`` (GitLab's re-enable by editing)."""
    values = dict(changes)
    if "events" in values:
        values["events"] = ",".join(values["events"])
    conn.execute(
        update(Webhook)
        .where(Webhook.id == hook_id)
        .values(
            **values,
            failing=False,
            consecutive_failures=0,
            updated_at=datetime.now(UTC),
            updated_by=actor,
        )
    )


def remove(conn: Connection, hook_id: int) -> None:
    conn.execute(delete(WebhookDelivery).where(WebhookDelivery.hook_id == hook_id))
    conn.execute(delete(Webhook).where(Webhook.id == hook_id))


_PROJECT = (
    select(Project.path)
    .where(Project.path.in_(bindparam("candidates", expanding=True)))
    .order_by(func.length(Project.path).desc())
    .limit(1)
    .scalar_subquery()
)
_SUBSCRIBERS = select(  # built once: it runs on every push
    Webhook.id,
    Webhook.events,
    Webhook.repository_regex,
    Webhook.scope_path,
    Webhook.project_id,
    _PROJECT.label("project"),
).where(
    Webhook.scope_path.in_(bindparam("paths", expanding=True)),
    Webhook.enabled.is_(True),
    Webhook.failing.is_(False),
)


def subscribers(
    conn: Connection, scope_paths: list[str], candidates: list[str]
) -> list[Subscriber]:
    """Live hooks of any of ``scope_paths`` (one indexed lookup, run on every push), each
    with the repository's project: the longest of ``candidates`` that is one, found in
    the same round trip (and only when some hook matched)."""
    found = conn.execute(_SUBSCRIBERS, {"paths": scope_paths, "candidates": candidates})
    return [
        Subscriber(
            r.id,
            r.events.split(","),
            r.repository_regex,
            r.scope_path,
            bool(r.project_id),
            r.project,
        )
        for r in found
    ]


def queue(
    conn: Connection, hook_id: int, event: str, body: str, redelivery_of: str | None = None
) -> str:
    """A delivery row and the job that sends it, in the caller's transaction; its id."""
    delivery_id = str(uuid.uuid4())
    conn.execute(
        WebhookDelivery.__table__.insert().values(
            id=delivery_id,
            hook_id=hook_id,
            event=event,
            body=body,
            state="queued",
            attempts=0,
            created_at=datetime.now(UTC),
            redelivery_of=redelivery_of,
        )
    )
    jobs.enqueue(
        conn, KIND, {"delivery": delivery_id}, f"{KIND}:{delivery_id}", max_attempts=MAX_ATTEMPTS
    )
    return delivery_id


_DELIVERY = tuple(WebhookDelivery.__table__.c)


def deliveries(conn: Connection, hook_id: int, limit: int = 50) -> list[DeliveryRow]:
    stmt = (
        select(*_DELIVERY)
        .where(WebhookDelivery.hook_id == hook_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
    )
    return [DeliveryRow(*row) for row in conn.execute(stmt)]


def delivery(conn: Connection, hook_id: int, delivery_id: str) -> DeliveryRow | None:
    stmt = select(*_DELIVERY).where(
        WebhookDelivery.hook_id == hook_id, WebhookDelivery.id == delivery_id
    )
    row = conn.execute(stmt).first()
    return DeliveryRow(*row) if row is not None else None


def target(conn: Connection, delivery_id: str) -> Target | None:
    stmt = (
        select(*_DELIVERY, Webhook.url, Webhook.secret, Webhook.format, Webhook.enabled)
        .join(Webhook, Webhook.id == WebhookDelivery.hook_id)
        .where(WebhookDelivery.id == delivery_id)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    n = len(_DELIVERY)
    url, secret, fmt, enabled = row[n:]
    return Target(DeliveryRow(*row[:n]), url, secret, fmt, bool(enabled))


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    duration_ms: int
    response_body: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and self.status_code < 300


def record(conn: Connection, delivery_id: str, attempt: Attempt) -> None:
    """Log one attempt on the delivery and keep the hook's run of failures."""
    row = conn.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            state="delivered" if attempt.ok else "queued",
            attempts=WebhookDelivery.attempts + 1,
            attempted_at=datetime.now(UTC),
            status_code=attempt.status_code,
            duration_ms=attempt.duration_ms,
            response_body=(attempt.response_body or "")[:RESPONSE_KEEP] or None,
            error=attempt.error,
        )
        .returning(WebhookDelivery.hook_id)
    ).first()
    if row is None:
        return
    hook = update(Webhook).where(Webhook.id == row.hook_id)
    if attempt.ok:  # a write only when it ends a run of failures
        failed = or_(Webhook.consecutive_failures != 0, Webhook.last_error.is_not(None))
        conn.execute(hook.where(failed).values(consecutive_failures=0, last_error=None))
    else:
        why = attempt.error or f"HTTP {attempt.status_code}"
        conn.execute(
            hook.values(consecutive_failures=Webhook.consecutive_failures + 1, last_error=why)
        )


def drop(conn: Connection, delivery_id: str, why: str) -> None:
    """Stop a queued delivery without blaming its hook (the hook was disabled)."""
    conn.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(state="failed", error=why)
    )


def give_up(conn: Connection, delivery_id: str, error: str) -> None:
    """The delivery used every attempt: it is failed, and its hook marked failing."""
    hook_id = conn.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(state="failed", error=error[:4000])
        .returning(WebhookDelivery.hook_id)
    ).scalar()
    if hook_id is not None:
        conn.execute(update(Webhook).where(Webhook.id == hook_id).values(failing=True))


def counts(conn: Connection, hook_id: int) -> dict[str, int]:
    stmt = (
        select(WebhookDelivery.state, func.count())
        .where(WebhookDelivery.hook_id == hook_id)
        .group_by(WebhookDelivery.state)
    )
    return {state: n for state, n in conn.execute(stmt)}
