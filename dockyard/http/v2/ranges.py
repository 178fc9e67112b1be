"""Which bytes of a blob a GET asks for: RFC 9110 section 14, decided once, here.

The answer is the whole blob (no usable Range), one inclusive span (206), or a 416
with ``Content-Range: bytes */SIZE``. Choices where the RFC leaves room, written
down in docs/architecture.md:

- a malformed byte range set (``bytes=500-0``, ``bytes=x``, no ``=``) is rejected
  with 416 rather than ignored, as Distribution (Go's ``ServeContent``) does;
- a unit other than ``bytes`` is ignored (200), as RFC 9110 section 14.2 requires;
- several ranges are served as the whole blob (200), which the RFC allows, unless
  none of them is satisfiable (416);
- an ``If-Range`` that does not name this blob's ETag turns the Range off (200).
"""

from __future__ import annotations

import re

from dockyard.oci.errors import Code, RegistryError

# RFC 9110 5.6.2 token, for the range unit.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# int-range "first-[last]" and suffix-range "-length"; ASCII digits only.
_INT_RANGE = re.compile(r"([0-9]+)-([0-9]*)")
_SUFFIX_RANGE = re.compile(r"-([0-9]+)")
# Beyond any blob size; longer numbers are clamped here instead of parsed.
_HUGE = 10**18


def _number(digits: str) -> int:
    return int(digits) if len(digits) < 18 else _HUGE


def _not_satisfiable(header: str, size: int, why: str) -> RegistryError:
    return RegistryError(
        Code.SIZE_INVALID,
        why,
        {"size": size, "range": header[:100]},
        status=416,
        headers={"Content-Range": f"bytes */{size}"},
    )


def _span(spec: str, header: str, size: int) -> tuple[int, int] | None:
    """One range-spec as an inclusive (start, end) within the blob; None if outside it."""
    if match := _INT_RANGE.fullmatch(spec):
        first = _number(match.group(1))
        last = _number(match.group(2)) if match.group(2) else None
        if last is not None and last < first:
            raise _not_satisfiable(header, size, "malformed Range header: last byte before first")
        if first >= size:
            return None
        return first, size - 1 if last is None else min(last, size - 1)
    if match := _SUFFIX_RANGE.fullmatch(spec):
        length = _number(match.group(1))
        if length == 0 or size == 0:
            return None
        return max(size - length, 0), size - 1
    raise _not_satisfiable(header, size, "malformed Range header")


def select_range(
    header: str | None, size: int, if_range: str | None = None, etag: str | None = None
) -> tuple[int, int] | None:
    """The inclusive byte span a GET should answer with 206, or None for a plain 200.

    Raises a 416 RegistryError for a malformed or unsatisfiable byte range set.
    """
    if header is None:
        return None
    if if_range is not None and if_range.strip() != etag:
        return None  # the client's copy is of something else: send all of this one
    unit, equals, ranges = header.partition("=")
    unit = unit.strip()
    if not equals or not _TOKEN.fullmatch(unit):
        raise _not_satisfiable(header, size, "malformed Range header")
    if unit.lower() != "bytes":
        return None
    specs = [spec.strip() for spec in ranges.split(",") if spec.strip()]
    if not specs:
        raise _not_satisfiable(header, size, "malformed Range header")
    spans = [_span(spec, header, size) for spec in specs]
    if all(span is None for span in spans):
        raise _not_satisfiable(header, size, "requested range not satisfiable")
    if len(spans) > 1:
        return None
    return spans[0]
