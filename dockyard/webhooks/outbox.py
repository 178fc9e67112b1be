"""Queue an event for every hook that wants it, in the caller's write transaction.

A push into a project without hooks costs one indexed lookup (hooks by the prefixes of
the repository's path: its project and every group above; the project's path comes
back in the same statement). Matching hooks each get a delivery row and a job, committed
or rolled back with the change that caused them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from dockyard.db.queries import hooks
from dockyard.db.queries.accounts import project_candidates
from dockyard.webhooks.events import PROJECT_EVENTS, Event, Origin, body

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@lru_cache(maxsize=256)
def _pattern(text: str) -> Any:
    try:
        return re2.compile(text, _OPTIONS)
    except re2.error:
        return None  # saved before a rule change; matches nothing rather than failing pushes


def prefixes(repository: str) -> list[str]:
    """'a/b/c' -> ['a', 'a/b', 'a/b/c']: every group or project it may sit in."""
    parts = repository.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _wants(hook: hooks.Subscriber, event: Event) -> bool:
    if event.name not in hook.events:
        return False
    if not hook.repository_regex or event.name in PROJECT_EVENTS:
        return True
    pattern = _pattern(hook.repository_regex)
    return pattern is not None and pattern.fullmatch(event.repository) is not None


def emit(conn: object, event: Event, origin: Origin) -> list[str]:
    """Queue ``event`` for its hooks; the delivery ids (none when no hook wants it)."""
    return emit_all(conn, [event], origin)


def emit_all(conn: object, events: list[Event], origin: Origin) -> list[str]:
    """Queue events of one repository (a bulk tag delete's), looking its hooks up once."""
    if not events:
        return []
    repository = events[0].repository
    found = hooks.subscribers(conn, prefixes(repository), project_candidates(repository))
    if not found:
        return []
    return [d for event in events for d in _queue(conn, found, event, origin)]


def _queue(conn: object, found: list, event: Event, origin: Origin) -> list[str]:
    wanting = [h for h in found if _wants(h, event)]
    if not wanting:
        return []
    path = wanting[0].project
    # a project's hooks hear their own repositories only, not a project's nested below
    wanting = [h for h in wanting if not h.of_project or h.scope_path == path]
    payload = body(event, origin, path)
    return [hooks.queue(conn, h.id, event.name, payload) for h in wanting]
