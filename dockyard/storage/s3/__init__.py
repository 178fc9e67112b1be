"""The S3 driver: blobs and upload sessions as objects in one bucket."""

from dockyard.storage.s3.client import Target
from dockyard.storage.s3.store import S3Store

__all__ = ["S3Store", "Target"]
