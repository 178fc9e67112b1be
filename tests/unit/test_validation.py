"""dockyard.validation: what counts as a number, a duration and an expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dockyard.validation import (
    InvalidInput,
    check_expiry,
    check_text,
    expiry_in_days,
    parse_duration,
    parse_id,
    parse_int,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"), [("0", 0), ("42", 42), (" 7 ", 7), (12, 12), ("-3", -3)]
)
def test_parse_int_accepts_ascii_digits(text: object, expected: int) -> None:
    assert parse_int(text, -10, 100, "n") == expected


@pytest.mark.parametrize(
    "text",
    ["", " ", "²", "٣", "1_000", "1e3", "0x10", "+5", "9" * 5000, "101", None, True, 1.5, b"1"],
)
def test_parse_int_refuses_everything_else(text: object) -> None:
    with pytest.raises(InvalidInput, match="n must be a whole number from -10 to 100"):
        parse_int(text, -10, 100, "n")


def test_parse_id_is_32_bit() -> None:
    assert parse_id("2147483647") == 2147483647
    for bad in ("0", "2147483648", "abc"):
        with pytest.raises(InvalidInput, match="token_id"):
            parse_id(bad, "token_id")


def test_durations() -> None:
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration(" 2W ") == timedelta(weeks=2)
    assert parse_duration("1month") == timedelta(days=30)
    assert parse_duration("100y") == timedelta(days=36500)
    for bad in ("101y", "99999999999999y", "9999999999999y", "١d", "²d", "7", "d", "-1d", "1.5d"):
        with pytest.raises(InvalidInput, match="older_than"):
            parse_duration(bad)


def test_expiry_in_days() -> None:
    assert expiry_in_days("", NOW) is None
    assert expiry_in_days("0", NOW) is None
    assert expiry_in_days("30", NOW) == NOW + timedelta(days=30)
    assert expiry_in_days(3650, NOW) == NOW + timedelta(days=3650)
    for bad in ("3651", "99999999", "²", "-1"):
        with pytest.raises(InvalidInput, match="expires_in_days must be a whole number"):
            expiry_in_days(bad, NOW)


def test_check_expiry() -> None:
    assert check_expiry(None, NOW) is None
    naive = datetime(2026, 2, 1)
    assert check_expiry(naive, NOW) == datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="in the future"):
        check_expiry(NOW - timedelta(seconds=1), NOW)
    with pytest.raises(InvalidInput, match="at most 3650 days"):
        check_expiry(NOW + timedelta(days=3651), NOW)
    with pytest.raises(InvalidInput, match="out of range"):
        check_expiry(datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-14))), NOW)


def test_check_text() -> None:
    assert check_text("laptop", "name", 10) == "laptop"
    for bad in ("", "x" * 11, "a\x00b", "a\nb", "\x7f"):
        with pytest.raises(InvalidInput, match="name"):
            check_text(bad, "name", 10)
