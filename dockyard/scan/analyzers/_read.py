"""Bounded reads shared by the language analyzers: a hostile layer may lie about sizes."""

from __future__ import annotations

from typing import BinaryIO


def read_bounded(stream: BinaryIO, size: int, limit: int) -> bytes | None:
    """The whole stream if it holds at most ``limit`` bytes, else None (too large to trust).

    A file whose ``size`` already says it is too large is not read at all: the walker
    fails the scan when an analyzer reads past the limit, and a large file is the
    analyzer's to pass over, not a reason to give up on the image."""
    if size > limit:
        return None
    data = stream.read(limit + 1)
    return None if len(data) > limit else data
