"""dockyard.sizes: the sizes people type for limits, and how sizes are shown."""

from __future__ import annotations

import pytest

from dockyard.sizes import MAX_BYTES, format_size, parse_size
from dockyard.validation import InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1GiB", 1024**3),
        ("1 GiB", 1024**3),
        ("1gib", 1024**3),
        ("500MB", 500_000_000),
        ("500mb", 500_000_000),
        ("1.5GiB", 1024**3 * 3 // 2),
        ("0.1KiB", 102),  # rounds down to whole bytes
        ("2kB", 2000),
        ("3TiB", 3 * 1024**4),
        ("1PB", 10**15),
        ("1024", 1024),
        ("1024B", 1024),
        ("0", 0),
        (" 7 MiB ", 7 * 1024**2),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1G", "unknown unit 'g'"),
        ("10m", "unknown unit 'm'"),
        ("1 gigabyte", "unknown unit"),
        ("1.5", "bytes are whole"),
        ("1.5B", "bytes are whole"),
        ("", "use a number and a unit"),
        ("-1GiB", "use a number and a unit"),
        ("GiB", "use a number and a unit"),
        ("1e9", "use a number and a unit"),
        ("١GiB", "use a number and a unit"),
        ("9" * 30, "use a number and a unit"),
        ("8EiB", "unknown unit"),
        ("9999999PiB", "at most"),
        (None, "use a number and a unit"),
    ],
)
def test_parse_size_refuses(text: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_size(text, "limit")


def test_the_largest_size_fits_a_signed_64_bit_column() -> None:
    assert parse_size(str(MAX_BYTES)) == MAX_BYTES
    with pytest.raises(InvalidInput, match="at most"):
        parse_size(str(MAX_BYTES + 1))


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (1024**3, "1 GiB"),
        (1288490189, "1.2 GiB"),  # the first byte count at 1.2 GiB
        (1288490188, "1.1 GiB"),
        (int(1.99 * 1024**3), "1.9 GiB"),  # down, never up to the next tenth
        (1024**3 - 1, "1023.9 MiB"),
        (5 * 1024**4, "5 TiB"),
        (MAX_BYTES, "7.9 EiB"),
        (-5, "0 B"),
    ],
)
def test_format_size(size: int, shown: str) -> None:
    assert format_size(size) == shown
