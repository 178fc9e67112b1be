"""No shared cache: every answer comes from the database (one replica, or no Redis)."""

from __future__ import annotations

from collections.abc import Callable


class LocalState:
    def epoch(self, read: Callable[[], int]) -> int:
        return read()

    def generation(self, name: str) -> int | None:
        return None

    def changed(self, changes: dict[str, int | None]) -> None:
        return None

    def close(self) -> None:
        return None
