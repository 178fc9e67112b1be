"""Which tags a bulk delete (or a cleanup policy) removes. Pure; RE2 for user regexes.

Order, as users of GitLab's registry expect it: never 'latest'; keep only names the
delete pattern matches in full; drop names the keep pattern matches in full; keep the
newest ``keep_n`` of the rest; of those, delete only the ones older than ``older_than``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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
        candidates = [item for item in items if self.candidate(name(item))]
        candidates.sort(key=lambda item: (pushed(item), name(item)), reverse=True)
        if self.keep_n:
            candidates = candidates[self.keep_n :]
        cutoff = self.cutoff
        return [item for item in candidates if cutoff is None or pushed(item) < cutoff]

    def candidate(self, tag: str) -> bool:
        """A tag the patterns allow deleting (before ``keep_n`` and the age count)."""
        if self.delete is None or tag == "latest" or not self.delete.fullmatch(tag):
            return False
        return self.keep is None or not self.keep.fullmatch(tag)

    def keeps(self, name: str, pushed: datetime, newer: Callable[[], Iterator[str]]) -> str | None:
        """Why these rules keep one tag, or None when they would delete it: the same
        order as ``select``, for one tag. ``newer`` yields the names of the repository's
        tags ranked newer than it (any order); it is read only as far as ``keep_n`` needs."""
        if self.delete is None:
            return "the policy has no delete pattern"
        if name == "latest":
            return "latest is always kept"
        if not self.delete.fullmatch(name):
            return "its name does not match the delete pattern"
        if self.keep is not None and self.keep.fullmatch(name):
            return "its name matches the keep pattern"
        if self.keep_n:
            ahead = 0
            for other in newer():
                ahead += self.candidate(other)
                if ahead >= self.keep_n:
                    break
            if ahead < self.keep_n:
                return f"it is one of the {self.keep_n} newest tags the policy matches"
        if self.cutoff is not None and pushed >= self.cutoff:
            return "it is newer than the age the policy deletes at"
        return None


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
