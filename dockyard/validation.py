"""Numbers, durations and dates typed by people, checked in one place. Pure; no I/O.

Python's own parsers are too kind for user input: ``str.isdigit()`` accepts '²', ``int()``
accepts '٣' and '1_000' and fails on 5,000 digits, and ``timedelta``/``datetime`` overflow
on huge values. Every number the UI, the REST API or the CLI takes from a person goes
through here: ASCII digits only, within a stated range, or an ``InvalidInput`` whose
message names the field and the range.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# Enough digits for any bound below; longer input is refused before int() sees it.
_INTEGER = re.compile(r"-?[0-9]{1,18}", re.ASCII)
_DURATION = re.compile(r"([0-9]{1,12})\s*(h|d|w|month|y)", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400, "month": 30 * 86400, "y": 365 * 86400}
MAX_ID = 2_147_483_647  # database ids are 32-bit on every engine we support
MAX_DURATION = timedelta(days=100 * 365)  # '100y': older than anything a registry holds
MAX_TOKEN_DAYS = 3650  # ten years, the longest a token may be made to last


class InvalidInput(ValueError):
    """A value a person typed that we will not use, with a message fit for them."""


def parse_int(text: object, lo: int, hi: int, name: str) -> int:
    """``text`` (a form or query value, or an int) as an int in ``[lo, hi]``."""
    problem = f"{name} must be a whole number from {lo} to {hi}"
    if isinstance(text, bool):
        raise InvalidInput(problem)
    if isinstance(text, int):
        value = text
    elif isinstance(text, str) and _INTEGER.fullmatch(text.strip(" \t")):
        value = int(text.strip(" \t"))
    else:
        raise InvalidInput(problem)
    if not lo <= value <= hi:
        raise InvalidInput(problem)
    return value


def parse_id(text: object, name: str = "id") -> int:
    """A database id: 1 to 2^31-1."""
    return parse_int(text, 1, MAX_ID, name)


def check_text(text: str, name: str, max_length: int, min_length: int = 1) -> str:
    """A label a person typed: ``min_length`` to ``max_length`` characters, no control
    characters (PostgreSQL cannot even store NUL)."""
    if not isinstance(text, str) or not min_length <= len(text) <= max_length:
        raise InvalidInput(f"{name} has {min_length} to {max_length} characters")
    if _CONTROL.search(text):
        raise InvalidInput(f"{name} may not contain control characters")
    return text


def parse_duration(text: str, name: str = "older_than") -> timedelta:
    """'12h', '7d', '2w', '1month', '1y' (up to 100 years) -> timedelta."""
    match = _DURATION.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    if not match:
        raise InvalidInput(
            f"{name} {str(text)[:40]!r}: use a number and h, d, w, month or y (e.g. 7d)"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise InvalidInput(f"{name} {text!r}: at most 100 years (100y)")
    return timedelta(seconds=seconds)


def expiry_in_days(text: object, now: datetime, name: str = "expires_in_days") -> datetime | None:
    """A token lifetime in whole days (0 or empty: never expires) as the moment it ends."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    days = parse_int(text, 0, MAX_TOKEN_DAYS, name)
    return now + timedelta(days=days) if days else None


def check_expiry(
    moment: datetime | None, now: datetime, name: str = "expires_at"
) -> datetime | None:
    """An expiry date in the future and at most ten years ahead, in UTC (a date without a
    time zone is taken as UTC)."""
    if moment is None:
        return None
    try:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        moment = aware.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput(f"{name} is out of range") from None
    if moment <= now:
        raise InvalidInput(f"{name} must be in the future")
    if moment - now > timedelta(days=MAX_TOKEN_DAYS):
        raise InvalidInput(f"{name} must be at most {MAX_TOKEN_DAYS} days from now")
    return moment
