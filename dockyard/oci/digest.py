"""Digests: parse, validate and compute them, streaming.

Grammar (image-spec descriptor.md): ``algorithm ":" encoded``. Dockyard accepts the
two registered algorithms, sha256 and sha512, with lowercase hex of the exact length.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from dockyard.oci.errors import Code, RegistryError

# algorithm-component ([a-z0-9]+) joined by one of + . _ - ; encoded is [a-zA-Z0-9=_-]+
_GRAMMAR = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
# Registered algorithms and their encoded form (lowercase hex of a fixed length).
_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_HEX = re.compile(r"[a-f0-9]+")


@dataclass(frozen=True, slots=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)


def parse_digest(text: str) -> Digest:
    """Parse a digest or raise DIGEST_INVALID (malformed) / UNSUPPORTED (unknown algorithm)."""
    if not isinstance(text, str) or len(text) > 256 or not _GRAMMAR.fullmatch(text):
        raise RegistryError(Code.DIGEST_INVALID, "invalid digest format", {"digest": str(text)})
    algorithm, _, encoded = text.partition(":")
    length = _HEX_LENGTH.get(algorithm)
    if length is None:
        raise RegistryError(
            Code.UNSUPPORTED,
            f"digest algorithm {algorithm!r} is not supported (use sha256 or sha512)",
            {"digest": text},
            status=400,
        )
    if len(encoded) != length or not _HEX.fullmatch(encoded):
        raise RegistryError(
            Code.DIGEST_INVALID,
            f"a {algorithm} digest is {length} lowercase hex characters",
            {"digest": text},
        )
    return Digest(algorithm, encoded)


def looks_like_digest(reference: str) -> bool:
    """A manifest reference is a digest when it has a colon (tags never do)."""
    return ":" in reference


def digest_bytes(data: bytes, algorithm: str = "sha256") -> Digest:
    return Digest(algorithm, hashlib.new(algorithm, data).hexdigest())
