"""Bytes by digest, and the bytes of upload sessions. Knows nothing of repositories."""

from __future__ import annotations

from dockyard.config import Settings
from dockyard.storage.base import BlobStore, StorageError, StorageUnavailable, UploadWriter
from dockyard.storage.filesystem import FilesystemStore

__all__ = ["BlobStore", "StorageError", "StorageUnavailable", "UploadWriter", "open_store"]


def open_store(settings: Settings) -> BlobStore:
    """The one place a setting picks the driver."""
    match settings.storage:
        case "filesystem":
            return FilesystemStore(settings.data_dir)
        case "s3":
            from dockyard.storage.s3 import S3Store, Target  # only S3 users load its client

            target = Target(
                settings.s3_endpoint,
                settings.s3_bucket,
                settings.s3_region,
                settings.s3_access_key,
                settings.s3_secret_key,
            )
            ttl = settings.s3_redirect_ttl_seconds if settings.s3_redirect else None
            return S3Store(target, settings.s3_prefix, settings.s3_part_size_bytes, ttl)
        case other:
            raise ValueError(f"unknown storage driver {other!r} (known: filesystem, s3)")
