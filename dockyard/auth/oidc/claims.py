"""A trust's claim patterns: each value is an exact string or a glob (``*``, ``?``,
``[...]``, fnmatch-style, case-sensitive) over the claim's whole value; all must match."""

from __future__ import annotations

from fnmatch import fnmatchcase

from dockyard.validation import InvalidInput

MAX_CLAIMS = 20
MAX_PATTERN = 255
# Claims every issuer sets and the verifier checks itself; a pattern on them would only
# confuse (the audience and issuer are fields of the trust).
RESERVED = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti"})


def check_patterns(patterns: object) -> dict[str, str]:
    """The trust's claim patterns, or InvalidInput saying what is wrong."""
    if not isinstance(patterns, dict) or not patterns:
        raise InvalidInput("claims: name at least one claim to match, e.g. repository")
    if len(patterns) > MAX_CLAIMS:
        raise InvalidInput(f"claims: at most {MAX_CLAIMS} claims")
    checked: dict[str, str] = {}
    for name, value in patterns.items():
        if not isinstance(name, str) or not name or len(name) > 100:
            raise InvalidInput("claims: claim names are 1 to 100 characters")
        if name in RESERVED:
            raise InvalidInput(f"claims: {name!r} is checked by the trust itself, not a pattern")
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_PATTERN:
            raise InvalidInput(f"claims.{name}: a string of 1 to {MAX_PATTERN} characters")
        if value.strip("*?") == "":
            raise InvalidInput(f"claims.{name}: a pattern of only wildcards matches anything")
        checked[name] = value
    return checked


def matches(patterns: dict[str, str], claims: dict[str, object]) -> bool:
    """Whether every pattern matches its claim; a claim that is missing or not a string
    (a list, a number) matches nothing."""
    for name, pattern in patterns.items():
        value = claims.get(name)
        if not isinstance(value, str) or not fnmatchcase(value, pattern):
            return False
    return True
