"""The error table of the distribution spec, as data, and the one exception that carries it.

Only the spec's fourteen codes are used, so every client understands every error;
the HTTP status is the one the spec (or, where it is silent, Distribution) uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class ErrorCode:
    code: str
    message: str
    status: int


class Code(Enum):
    """Each spec error code with its default message and status."""

    BLOB_UNKNOWN = ErrorCode("BLOB_UNKNOWN", "blob unknown to registry", 404)
    BLOB_UPLOAD_INVALID = ErrorCode("BLOB_UPLOAD_INVALID", "blob upload invalid", 400)
    BLOB_UPLOAD_UNKNOWN = ErrorCode("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", 404)
    DIGEST_INVALID = ErrorCode(
        "DIGEST_INVALID", "provided digest did not match uploaded content", 400
    )
    MANIFEST_BLOB_UNKNOWN = ErrorCode(
        "MANIFEST_BLOB_UNKNOWN", "manifest references a manifest or blob unknown to registry", 400
    )
    MANIFEST_INVALID = ErrorCode("MANIFEST_INVALID", "manifest invalid", 400)
    MANIFEST_UNKNOWN = ErrorCode("MANIFEST_UNKNOWN", "manifest unknown to registry", 404)
    NAME_INVALID = ErrorCode("NAME_INVALID", "invalid repository name", 400)
    NAME_UNKNOWN = ErrorCode("NAME_UNKNOWN", "repository name not known to registry", 404)
    SIZE_INVALID = ErrorCode("SIZE_INVALID", "provided length did not match content length", 400)
    UNAUTHORIZED = ErrorCode("UNAUTHORIZED", "authentication required", 401)
    DENIED = ErrorCode("DENIED", "requested access to the resource is denied", 403)
    UNSUPPORTED = ErrorCode("UNSUPPORTED", "the operation is unsupported", 405)
    TOOMANYREQUESTS = ErrorCode("TOOMANYREQUESTS", "too many requests", 429)


class RegistryError(Exception):
    """A failure the client caused or must know about, rendered as the spec's JSON."""

    def __init__(
        self,
        code: Code,
        message: str | None = None,
        detail: Any = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code
        self.message = message or code.value.message
        self.detail = detail
        self.status = status or code.value.status
        self.headers = headers or {}
        super().__init__(f"{code.value.code}: {self.message}")

    def body(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"code": self.code.value.code, "message": self.message}
        entry["detail"] = self.detail if self.detail is not None else {}
        return {"errors": [entry]}
