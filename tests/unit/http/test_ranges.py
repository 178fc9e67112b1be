"""select_range: RFC 9110 byte ranges as a pure function (the HTTP tests cover the wire)."""

from __future__ import annotations

import pytest

from dockyard.http.v2.ranges import select_range
from dockyard.oci.errors import Code, RegistryError

ETAG = '"sha256:' + "a" * 64 + '"'


@pytest.mark.parametrize(
    ("header", "size", "span"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, (0, 0)),
        ("bytes=2-", 10, (2, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        ("bytes=5-500", 10, (5, 9)),
        ("bytes=0-1,4-5", 10, None),
        ("lines=0-1", 10, None),
    ],
)
def test_spans(header: str | None, size: int, span: tuple[int, int] | None) -> None:
    assert select_range(header, size) == span


@pytest.mark.parametrize(
    ("header", "size"),
    [("bytes=5-4", 10), ("bytes=10-", 10), ("bytes=-0", 10), ("bytes=0-", 0), ("bytes", 10)],
)
def test_refusals_are_416_with_the_size(header: str, size: int) -> None:
    with pytest.raises(RegistryError) as caught:
        select_range(header, size)
    assert caught.value.status == 416
    assert caught.value.code is Code.SIZE_INVALID
    assert caught.value.headers == {"Content-Range": f"bytes */{size}"}


def test_if_range() -> None:
    assert select_range("bytes=1-2", 10, ETAG, ETAG) == (1, 2)
    assert select_range("bytes=1-2", 10, '"other"', ETAG) is None
    assert select_range("bytes=1-2", 10, "Sat, 28 Nov 2026 10:00:00 GMT", ETAG) is None
