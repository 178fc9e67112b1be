"""Bounded reads shared by the language analyzers: a hostile layer may lie about sizes."""

from __future__ import annotations

from typing import BinaryIO


def read_bounded(stream: BinaryIO, limit: int) -> bytes | None:
    """The whole stream if it holds at most ``limit`` bytes, else None (too large to trust)."""
    data = stream.read(limit + 1)
    return None if len(data) > limit else data
