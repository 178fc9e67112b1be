"""What happened, who did it, and the JSON body a receiver gets. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EVENTS = (
    "push",
    "tag_delete",
    "manifest_delete",
    "repository_delete",
    "scan_completed",
    "cleanup_completed",
    "quota_exceeded",
)
PROJECT_EVENTS = frozenset({"cleanup_completed"})  # about a project, not one repository
PING = "ping"  # sent by the test button only; no hook subscribes to it


@dataclass(frozen=True, slots=True)
class Origin:
    """Who caused the event (a user name, or a token's kind and name; never a secret) and
    the host clients pull from, for the pull reference."""

    actor: str = "dockyard"
    actor_kind: str = "system"  # password | personal | deploy | job | system
    host: str = ""


SYSTEM = Origin()


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    media_type: str | None = None
    size: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # what else the event carries


def body(event: Event, origin: Origin, project: str | None, now: datetime | None = None) -> str:
    """The payload, as stored once and sent on every attempt."""
    at = (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    pull = None
    if event.digest and origin.host:
        pull = f"{origin.host}/{event.repository}@{event.digest}"
    payload = {
        "event": event.name,
        "time": at,
        "actor": {"name": origin.actor, "kind": origin.actor_kind},
        "project": project,
        "repository": None if event.name in PROJECT_EVENTS else event.repository,
        "tag": event.tag,
        "digest": event.digest,
        "media_type": event.media_type,
        "size": event.size,
        "pull": pull,
        **({"detail": event.detail} if event.detail else {}),
    }
    return json.dumps(payload, separators=(",", ":"))
