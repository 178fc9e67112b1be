"""A project's cleanup policy as a value: its fields, GitLab's allowed values and
defaults, validation that names the field, and the rules it compiles to. Pure.

The fields and values are GitLab's ``container_expiration_policy`` (cadence ``1d``,
``7d``, ``14d``, ``1month``, ``3month``; ``older_than`` ``7d``, ``14d``, ``30d``, ``90d``
or none), plus ``repository_regex``, which GitLab lacks: the repositories (full path,
matched in full) the policy applies to. Months are 30 days, as GitLab counts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from dockyard.admin import AdminError
from dockyard.admin.cleanup import Selector, compile_pattern

CADENCES = {
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "14d": timedelta(days=14),
    "1month": timedelta(days=30),
    "3month": timedelta(days=90),
}
OLDER_THAN = {
    "7d": timedelta(days=7),
    "14d": timedelta(days=14),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
KEEP_N_MAX = 10_000
PATTERNS = ("name_regex", "name_regex_keep", "repository_regex")


@dataclass(frozen=True, slots=True)
class Policy:
    """GitLab's defaults: off; when on, daily, keeping the 10 newest and anything
    pushed in the last 90 days of every tag (``.*``)."""

    enabled: bool = False
    cadence: str = "1d"
    keep_n: int | None = 10
    older_than: str | None = "90d"
    name_regex: str | None = ".*"
    name_regex_keep: str | None = None
    repository_regex: str | None = None

    def describe(self) -> str:
        """One line for the audit log."""
        parts = [
            "enabled" if self.enabled else "disabled",
            f"every {self.cadence}",
            f"keep_n={self.keep_n}",
            f"older_than={self.older_than}",
            f"name_regex={self.name_regex!r}",
            f"name_regex_keep={self.name_regex_keep!r}",
            f"repository_regex={self.repository_regex!r}",
        ]
        return ", ".join(parts)


FIELDS = tuple(f.name for f in fields(Policy))


def check_pattern(value: object, field: str) -> str | None:
    """An RE2 pattern of at most 255 characters, or None (empty counts as none)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AdminError(f"{field} must be a string (an RE2 regular expression) or null")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise AdminError(f"{field} may not contain control characters (tags never do)")
    compile_pattern(value, field)
    return value


def _check(field: str, value: Any) -> Any:
    if field == "enabled":
        if not isinstance(value, bool):
            raise AdminError("enabled must be true or false")
        return value
    if field == "cadence":
        if value not in CADENCES:
            raise AdminError(f"cadence must be one of {', '.join(CADENCES)}")
        return value
    if field == "older_than":
        if value is not None and value not in OLDER_THAN:
            raise AdminError(f"older_than must be one of {', '.join(OLDER_THAN)} or null")
        return value
    if field == "keep_n":
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= KEEP_N_MAX
        ):
            raise AdminError(f"keep_n must be a whole number from 1 to {KEEP_N_MAX}, or null")
        return value
    return check_pattern(value, field)


def changed(policy: Policy, changes: Mapping[str, Any]) -> Policy:
    """``policy`` with ``changes`` applied (only the fields given), every one checked.
    An enabled policy needs ``name_regex`` (GitLab's rule: without one it deletes
    nothing, which is surely not what was meant)."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise AdminError(f"unknown cleanup policy fields: {', '.join(unknown)}")
    result = replace(policy, **{k: _check(k, v) for k, v in changes.items()})
    if result.enabled and result.name_regex is None:
        raise AdminError("name_regex is required when the policy is enabled (e.g. .*)")
    return result


def next_run(now: datetime, cadence: str) -> datetime:
    return now + CADENCES[cadence]


@dataclass(frozen=True)
class Rules:
    """A policy compiled for one moment: which repositories, which tags."""

    selector: Selector
    repositories: Any | None  # compiled repository_regex, or None: every repository

    def covers(self, repository: str) -> bool:
        return self.repositories is None or bool(self.repositories.fullmatch(repository))


def rules(policy: Policy, now: datetime) -> Rules:
    def pattern(field: str) -> Any | None:
        value = getattr(policy, field)
        return compile_pattern(value, field) if value else None

    cutoff = now - OLDER_THAN[policy.older_than] if policy.older_than else None
    selector = Selector(pattern("name_regex"), pattern("name_regex_keep"), policy.keep_n, cutoff)
    return Rules(selector, pattern("repository_regex"))
