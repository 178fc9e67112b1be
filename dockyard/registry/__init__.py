"""Push, pull and delete rules over the blob store and the metadata database.

This layer checks the spec's rules, never permissions: the HTTP layer asks the
access policy first and then calls one of these services. Methods are synchronous
and open their own short transactions; the HTTP layer runs them in worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.registry.blobs import Blobs
from dockyard.registry.catalog import Catalog
from dockyard.registry.manifests import Manifests
from dockyard.registry.promotion import Promotion
from dockyard.registry.quota import Quota
from dockyard.registry.uploads import Uploads
from dockyard.storage import BlobStore


@dataclass(frozen=True)
class Registry:
    blobs: Blobs
    uploads: Uploads
    manifests: Manifests
    catalog: Catalog
    quota: Quota
    promotion: Promotion


def build_registry(settings: Settings, db: Database, store: BlobStore) -> Registry:
    delay = timedelta(seconds=settings.gc_review_delay_seconds)
    quota = Quota(db)  # one per process: setting a limit here clears its cache
    manifests = Manifests(
        db,
        max_bytes=settings.max_manifest_bytes,
        scan_on_push=settings.scan_on_push,
        gc_delay=delay,
    )
    return Registry(
        blobs=Blobs(db, store, gc_delay=delay),
        uploads=Uploads(
            db,
            store,
            quota,
            gc_delay=max(delay, timedelta(seconds=settings.gc_upload_grace_seconds)),
        ),
        manifests=manifests,
        catalog=Catalog(db),
        quota=quota,
        promotion=Promotion(db, manifests),
    )
