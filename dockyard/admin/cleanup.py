"""Which tags a bulk delete (or a cleanup policy) removes. Pure; RE2 for user regexes.

Order, as users of GitLab's registry expect it: never 'latest'; keep only names the
delete pattern matches in full; drop names the keep pattern matches in full; keep the
newest ``keep_n`` of the rest; of those, delete only the ones older than ``older_than``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import re2

from dockyard.admin import AdminError
from dockyard.validation import parse_duration

MAX_PATTERN = 255


def _compile(pattern: str, what: str):  # noqa: ANN202 - an re2 pattern
    if len(pattern) > MAX_PATTERN:
        raise AdminError(f"{what} is longer than {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern)
    except re2.error as error:
        reason = error.args[0] if error.args else "invalid"
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise AdminError(f"{what} is not a valid RE2 expression: {reason}") from None


@dataclass(frozen=True)
class CleanupRules:
    delete_pattern: str
    keep_pattern: str | None = None
    keep_n: int | None = None
    older_than: str | None = None

    def select(self, tags: list[tuple[str, datetime]], now: datetime) -> list[str]:
        """Names to delete from (name, pushed_at) pairs, newest-first order preserved."""
        delete = _compile(self.delete_pattern, "name_regex_delete")
        keep = _compile(self.keep_pattern, "name_regex_keep") if self.keep_pattern else None
        if self.keep_n is not None and self.keep_n < 0:
            raise AdminError("keep_n is zero or more")
        cutoff = now - parse_duration(self.older_than) if self.older_than else None
        candidates = [
            (name, at)
            for name, at in tags
            if name != "latest"
            and delete.fullmatch(name)
            and not (keep is not None and keep.fullmatch(name))
        ]
        candidates.sort(key=lambda item: (item[1], item[0]), reverse=True)
        if self.keep_n:
            candidates = candidates[self.keep_n :]
        return [name for name, at in candidates if cutoff is None or at < cutoff]
