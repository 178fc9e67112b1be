"""How log records look: key=value text or one JSON object a line, each tagged with
the request id of the request that produced it (a context variable, so log lines
from worker threads of that request carry it too)."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

from dockyard.config import Settings

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_BARE = re.compile(r"[\x21-\x7e]+")  # printable, no spaces: written as is


def kv(value: object) -> str:
    """A value for a key=value line: quoted when it holds spaces, quotes or control
    characters, so a crafted path can never forge a second log line."""
    text = "-" if value is None or value == "" else str(value)
    if _BARE.fullmatch(text) and '"' not in text:
        return text
    return json.dumps(text)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = REQUEST_ID.get()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER MESSAGE [k=v ...] request_id=ID`` then any stack trace."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        fields = getattr(record, "fields", None)
        if fields:
            parts.extend(f"{key}={kv(value)}" for key, value in fields.items())
        elif getattr(record, "request_id", ""):
            parts.append(f"request_id={record.request_id}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the record's fields,
    request_id, and ``exception`` (the stack trace) for errors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if getattr(record, "request_id", "") and "request_id" not in entry:
            entry["request_id"] = record.request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(settings: Settings, stream: object = None) -> logging.Handler:
    """Send the ``dockyard`` loggers to stderr (or ``stream``) in the chosen format."""
    if settings.log_format not in ("text", "json"):
        raise ValueError(f"log_format must be text or json, not {settings.log_format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger("dockyard")
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    root.propagate = False
    return handler
