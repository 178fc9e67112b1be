"""Bytes by digest, and the bytes of upload sessions. Knows nothing of repositories."""

from __future__ import annotations

from dockyard.config import Settings
from dockyard.storage.base import BlobStore, StorageError, UploadWriter
from dockyard.storage.filesystem import FilesystemStore

__all__ = ["BlobStore", "StorageError", "UploadWriter", "open_store"]


def open_store(settings: Settings) -> BlobStore:
    """The one place a setting picks the driver."""
    match settings.storage:
        case "filesystem":
            return FilesystemStore(settings.data_dir)
        case other:
            raise ValueError(f"unknown storage driver {other!r} (known: filesystem)")
