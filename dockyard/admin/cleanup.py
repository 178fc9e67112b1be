"""Which tags a bulk delete (or a cleanup policy) removes. Pure; RE2 for user regexes.

Order, as users of GitLab's registry expect it: never 'latest'; keep only names the
delete pattern matches in full; drop names the keep pattern matches in full; keep the
newest ``keep_n`` of the rest; of those, delete only the ones older than ``older_than``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import re2

from dockyard.admin import AdminError
from dockyard.validation import parse_duration

MAX_PATTERN = 255
T = TypeVar("T")
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a bad pattern is the user's error, answered; not a log line


def compile_pattern(pattern: str, what: str) -> Any:
    """An RE2 pattern (linear time: no input can make it backtrack), or an AdminError
    that names the field."""
    if len(pattern) > MAX_PATTERN:
        raise AdminError(f"{what} is longer than {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else "invalid"
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise AdminError(f"{what} is not a valid RE2 expression: {reason}") from None


@dataclass(frozen=True)
class Selector:
    """Compiled rules; ``delete`` None matches nothing (a policy without a pattern)."""

    delete: Any | None
    keep: Any | None = None
    keep_n: int | None = None
    cutoff: datetime | None = None  # delete only what was pushed before this

    def select(
        self, items: Sequence[T], name: Callable[[T], str], pushed: Callable[[T], datetime]
    ) -> list[T]:
        """The items to delete, newest first."""
        if self.delete is None:
            return []
        delete, keep = self.delete.fullmatch, self.keep.fullmatch if self.keep else None
        candidates = [
            item
            for item in items
            if (tag := name(item)) != "latest"
            and delete(tag)
            and not (keep is not None and keep(tag))
        ]
        candidates.sort(key=lambda item: (pushed(item), name(item)), reverse=True)
        if self.keep_n:
            candidates = candidates[self.keep_n :]
        cutoff = self.cutoff
        return [item for item in candidates if cutoff is None or pushed(item) < cutoff]


@dataclass(frozen=True)
class CleanupRules:
    delete_pattern: str
    keep_pattern: str | None = None
    keep_n: int | None = None
    older_than: str | None = None

    def select(self, tags: list[tuple[str, datetime]], now: datetime) -> list[str]:
        """Names to delete from (name, pushed_at) pairs, newest-first order preserved."""
        delete = compile_pattern(self.delete_pattern, "name_regex_delete")
        keep = compile_pattern(self.keep_pattern, "name_regex_keep") if self.keep_pattern else None
        if self.keep_n is not None and self.keep_n < 0:
            raise AdminError("keep_n is zero or more")
        cutoff = now - parse_duration(self.older_than) if self.older_than else None
        selector = Selector(delete, keep, self.keep_n, cutoff)
        return [name for name, _ in selector.select(tags, lambda t: t[0], lambda t: t[1])]
