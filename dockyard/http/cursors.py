"""Keyset cursors for tag listings (REST and UI): the sort key of the last row shown,
so the next page starts after it however many rows were added or deleted meanwhile."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime


def tag_cursor(sort: str, name: str, pushed_at: datetime) -> str:
    key = name if sort.endswith("name") else [pushed_at.isoformat(), name]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def parse_tag_cursor(sort: str, cursor: str) -> tuple[object, ...]:
    """The sort key a cursor holds; ValueError when it is not one of ours."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if sort.endswith("name"):
            if not isinstance(key, str):
                raise ValueError("not a name cursor")
            return (key,)
        if not (isinstance(key, list) and len(key) == 2 and isinstance(key[1], str)):
            raise ValueError("not a time cursor")
        moment = datetime.fromisoformat(key[0])
        if moment.tzinfo is None:
            raise ValueError("a cursor's time has a zone")
        return (moment, key[1])
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise ValueError("not a cursor from a previous page") from error
