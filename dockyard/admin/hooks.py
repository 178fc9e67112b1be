"""Webhooks of projects and groups: validated changes, the delivery log, redelivery and
the test ping. The URL is checked against the SSRF rules when saved (and again by the
sender at every attempt, since a name may resolve elsewhere later)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dockyard.admin import AdminError, NotFound
from dockyard.admin.cleanup import compile_pattern
from dockyard.db.engine import Database
from dockyard.db.queries import accounts
from dockyard.db.queries import hooks as rows
from dockyard.webhooks.envelope import FORMATS
from dockyard.webhooks.events import EVENTS, PING, Origin
from dockyard.webhooks.ssrf import AllowList, Refused, Resolved, resolve

FIELDS = ("url", "secret", "events", "repository_regex", "enabled", "format")


@dataclass(frozen=True)
class Scope:
    """A project's or a group's hooks."""

    path: str
    project_id: int | None = None
    namespace_id: int | None = None


def _check(name: str, value: Any, check_url: Callable[[str], object]) -> Any:
    if name == "url":
        if not isinstance(value, str) or not value or len(value) > 2048:
            raise AdminError("url must be an http(s) URL of at most 2048 characters")
        try:
            check_url(value)
        except Refused as refused:
            raise AdminError(f"url refused: {refused}") from None
    elif name == "secret":
        if not isinstance(value, str) or not 1 <= len(value) <= 255:
            raise AdminError("secret must be 1 to 255 characters")
    elif name == "events":
        unknown = [e for e in value or [] if e not in EVENTS]
        if not value or unknown:
            raise AdminError(f"events must be a non-empty list of: {', '.join(EVENTS)}")
        value = list(dict.fromkeys(value))
    elif name == "repository_regex":
        if value:
            compile_pattern(value, "repository_regex")
        value = value or None
    elif name == "format" and value not in FORMATS:
        raise AdminError(f"format must be one of: {', '.join(FORMATS)}")
    return value


class Hooks:
    def __init__(
        self,
        db: Database,
        allow: AllowList,
        check_url: Callable[[str, AllowList], Resolved] = resolve,
    ) -> None:
        self._db = db
        self._allow = allow
        self._check_url = check_url

    def group_scope(self, path: str) -> Scope:
        with self._db.session() as conn:
            found = accounts.namespace_by_path(conn, path)
        if found is None or found.kind != "group":
            raise NotFound(f"no group {path!r}")
        return Scope(found.path, namespace_id=found.id)

    def _valid(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        def check_url(url: str) -> object:
            return self._check_url(url, self._allow)

        return {k: _check(k, v, check_url) for k, v in changes.items() if k in FIELDS}

    def list(self, scope: Scope) -> list[rows.HookRow]:
        with self._db.session() as conn:
            return rows.list_for(conn, scope.path)

    def get(self, scope: Scope, hook_id: int) -> rows.HookRow:
        with self._db.session() as conn:
            found = rows.get(conn, scope.path, hook_id)
        if found is None:
            raise NotFound(f"no hook {hook_id} in {scope.path}")
        return found

    def create(self, scope: Scope, fields: Mapping[str, Any], actor: str) -> rows.HookRow:
        for required in ("url", "secret", "events"):
            if fields.get(required) in (None, "", []):
                raise AdminError(f"{required} is required")
        values = {"enabled": True, "format": "dockyard", "repository_regex": None}
        values.update(self._valid(fields))
        with self._db.session(write=True) as conn:
            hook_id = rows.create(
                conn,
                scope.path,
                project_id=scope.project_id,
                namespace_id=scope.namespace_id,
                fields=values,
                actor=actor,
            )
        return self.get(scope, hook_id)

    def update(
        self, scope: Scope, hook_id: int, changes: Mapping[str, Any], actor: str
    ) -> rows.HookRow:
        """Change the fields sent; any edit clears ``failing``."""
        self.get(scope, hook_id)
        for name in ("url", "secret", "events", "format", "enabled"):
            if name in changes and changes[name] is None:
                raise AdminError(f"{name} may not be null")
        values = self._valid(changes)
        with self._db.session(write=True) as conn:
            rows.change(conn, hook_id, values, actor)
        return self.get(scope, hook_id)

    def delete(self, scope: Scope, hook_id: int) -> None:
        self.get(scope, hook_id)
        with self._db.session(write=True) as conn:
            rows.remove(conn, hook_id)

    def deliveries(self, scope: Scope, hook_id: int, limit: int = 50) -> list[rows.DeliveryRow]:
        self.get(scope, hook_id)
        with self._db.session() as conn:
            return rows.deliveries(conn, hook_id, limit)

    def delivery(self, scope: Scope, hook_id: int, delivery_id: str) -> rows.DeliveryRow:
        self.get(scope, hook_id)
        with self._db.session() as conn:
            found = rows.delivery(conn, hook_id, delivery_id)
        if found is None:
            raise NotFound(f"no delivery {delivery_id} of hook {hook_id}")
        return found

    def redeliver(self, scope: Scope, hook_id: int, delivery_id: str) -> rows.DeliveryRow:
        """Send the same body again as a new delivery (a new id: the receiver is asked
        to act again; ``redelivery_of`` names the original)."""
        original = self.delivery(scope, hook_id, delivery_id)
        with self._db.session(write=True) as conn:
            new_id = rows.queue(conn, hook_id, original.event, original.body, original.id)
        return self.delivery(scope, hook_id, new_id)

    def ping(self, scope: Scope, hook_id: int, origin: Origin) -> rows.DeliveryRow:
        """Queue a ``ping`` for the hook, whatever events it subscribes to."""
        hook = self.get(scope, hook_id)
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {
            "event": PING,
            "time": at,
            "actor": {"name": origin.actor, "kind": origin.actor_kind},
            "hook": {"id": hook.id, "scope": hook.scope_path, "events": hook.events},
        }
        with self._db.session(write=True) as conn:
            new_id = rows.queue(conn, hook_id, PING, json.dumps(body, separators=(",", ":")))
        return self.delivery(scope, hook_id, new_id)
