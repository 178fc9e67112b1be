"""Byte sizes as people type them ("1GiB", "500MB") and as we show them ("1.2 GiB"). Pure.

Units say what they mean: KiB, MiB, GiB, TiB, PiB are powers of 1024; kB, MB, GB, TB, PB
powers of 1000; B or no unit is bytes. Case does not matter. A bare "G" or "M" is refused,
because half the tools read it as 1024 and half as 1000: the message asks for GiB or GB.
A fraction is allowed with a unit ("1.5GiB") and rounds down to whole bytes.
"""

from __future__ import annotations

import re
from decimal import Decimal

from dockyard.validation import InvalidInput

MAX_BYTES = 2**63 - 1  # a signed 64-bit column holds the limit
_SIZE = re.compile(r"([0-9]{1,19})(?:\.([0-9]{1,6}))?\s*([a-z]*)", re.ASCII)
_FACTORS = {
    "": 1,
    "b": 1,
    **{f"{p}ib": 1024 ** (i + 1) for i, p in enumerate("kmgtp")},
    **{f"{p}b": 1000 ** (i + 1) for i, p in enumerate("kmgtp")},
}
_SHOWN = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def parse_size(text: object, name: str = "size") -> int:
    """'1GiB', '500MB', '1.5 GiB', '1024' -> bytes (0 to 2^63-1)."""
    match = _SIZE.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    shown = str(text)[:40]
    if match is None:
        raise InvalidInput(f"{name} {shown!r}: use a number and a unit, e.g. 1GiB or 500MB")
    whole, fraction, unit = match.groups()
    if unit not in _FACTORS:
        raise InvalidInput(
            f"{name} {shown!r}: unknown unit {unit!r}; use B, KiB, MiB, GiB, TiB "
            "(powers of 1024) or kB, MB, GB, TB (powers of 1000)"
        )
    if fraction is not None and _FACTORS[unit] == 1:
        raise InvalidInput(f"{name} {shown!r}: bytes are whole; drop the fraction")
    value = int(Decimal(f"{whole}.{fraction or 0}") * _FACTORS[unit])
    if value > MAX_BYTES:
        raise InvalidInput(f"{name} {shown!r}: at most {MAX_BYTES} bytes (8 EiB)")
    return value


def format_size(size: int) -> str:
    """Binary units with one decimal, rounded down and without a trailing '.0':
    1288490189 -> '1.2 GiB', 1073741824 -> '1 GiB', 512 -> '512 B'. Down, because
    1.99 GiB used of a 2 GiB limit should not read as '2 GiB used of 2 GiB'."""
    size = max(int(size), 0)
    power = 0
    while power + 1 < len(_SHOWN) and size >= 1024 ** (power + 1):
        power += 1
    whole, tenth = divmod(size * 10 // 1024**power, 10)
    number = str(whole) if tenth == 0 else f"{whole}.{tenth}"
    return f"{number} {_SHOWN[power]}"
