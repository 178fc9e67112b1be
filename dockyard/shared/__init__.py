"""What the replicas share beyond the database: with ``redis_url``, Redis carries the
credentials epoch and the rule caches' generations, so a change on one replica reaches
the others at once; without it (or while Redis is down) the database alone answers.

``open_shared(settings)`` picks one; ``attach(db, shared)`` makes every committed change
the queries mark (``db.engine.mark_changed``) reach it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from dockyard.config import Settings
from dockyard.shared.local import LocalState


class SharedState(Protocol):
    def epoch(self, read: Callable[[], int]) -> int:
        """The credentials epoch; ``read()`` asks the database."""

    def generation(self, name: str) -> int | None:
        """A counter that grows whenever ``name`` changes anywhere; None when unknown
        (no Redis, or Redis down): then caches rely on their own short lifetime."""

    def changed(self, changes: dict[str, int | None]) -> None:
        """Tell the other replicas what a committed transaction changed."""

    def close(self) -> None: ...


class _Listens(Protocol):
    after_commit: list


def open_shared(settings: Settings) -> SharedState:
    if not settings.redis_url:
        return LocalState()
    from dockyard.shared.redis_state import RedisState

    return RedisState(settings.redis_url, settings.redis_key_prefix)


def attach(db: _Listens, shared: SharedState) -> SharedState:
    """Announce ``db``'s committed changes through ``shared``; returns ``shared``."""
    db.after_commit.append(shared.changed)
    return shared
