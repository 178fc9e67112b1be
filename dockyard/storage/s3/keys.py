"""Where things live in the bucket. Layout under ``<prefix>/``::

    blobs/<algorithm>/<first two hex>/<hex>   committed blobs (the same tree as on disk)
    uploads/<upload id>/open                  marker: the session exists (maybe empty)
    uploads/<upload id>/<offset:020d>         segments of the session's bytes, in order
    detached/<hex>.<32 hex>                   blobs garbage collection took out

ListObjectsV2 returns keys in UTF-8 byte order. ``<hex[:2]>/<hex>`` sorts like the hex,
and "sha256" < "sha512", so listing ``blobs/`` yields str(digest) order; zero-padded
offsets list a session's segments in order, with the marker after them.
"""

from __future__ import annotations

import re

from dockyard.oci.digest import Digest
from dockyard.storage.base import StorageError

HEX_LENGTH = {"sha256": 64, "sha512": 128}
MARKER = "open"
_LOWER_HEX = re.compile(r"[0-9a-f]+")
_UPLOAD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SEGMENT = re.compile(r"[0-9]{20}")
DETACHED = re.compile(r"[0-9a-f]{64,128}\.[0-9a-f]{32}")


class Keys:
    def __init__(self, prefix: str) -> None:
        prefix = prefix.strip("/")
        self.root = f"{prefix}/" if prefix else ""
        self.blobs = self.root + "blobs/"
        self.uploads = self.root + "uploads/"
        self.detached = self.root + "detached/"

    def blob(self, digest: Digest) -> str:
        return f"{self.blobs}{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"

    def session(self, upload_id: str) -> str:
        """The folder of one session; refuses ids that are not ours before any request."""
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise StorageError(f"invalid upload id {upload_id[:64]!r}")
        return f"{self.uploads}{upload_id}/"

    def marker(self, upload_id: str) -> str:
        return self.session(upload_id) + MARKER

    def segment(self, upload_id: str, offset: int) -> str:
        return f"{self.session(upload_id)}{offset:020d}"

    def detached_key(self, token: str) -> str:
        if not DETACHED.fullmatch(token):
            raise StorageError(f"invalid detached blob {token[:100]!r}")
        return self.detached + token

    def digest_of(self, key: str) -> Digest | None:
        """The digest a key under ``blobs/`` stands for, or None for anything else."""
        parts = key[len(self.blobs) :].split("/")
        if len(parts) != 3:
            return None
        algorithm, prefix, name = parts
        if (
            len(name) == HEX_LENGTH.get(algorithm, -1)
            and _LOWER_HEX.fullmatch(name)
            and name[:2] == prefix
        ):
            return Digest(algorithm, name)
        return None

    def upload_id_of(self, key: str) -> str | None:
        """The session a key under ``uploads/`` belongs to (marker or segment), or None."""
        parts = key[len(self.uploads) :].split("/")
        if len(parts) != 2 or not _UPLOAD_ID.fullmatch(parts[0]):
            return None
        return parts[0] if parts[1] == MARKER or _SEGMENT.fullmatch(parts[1]) else None

    def is_known(self, key: str) -> bool:
        """A blob at its own place, or part of an upload session."""
        if key.startswith(self.blobs):
            return self.digest_of(key) is not None
        if key.startswith(self.uploads):
            return self.upload_id_of(key) is not None
        return False

    @staticmethod
    def offset_of(name: str) -> int | None:
        return int(name) if _SEGMENT.fullmatch(name) else None
