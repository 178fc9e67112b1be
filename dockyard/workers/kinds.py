"""Every job kind the workers run, and what runs it: the one place they are wired."""

from __future__ import annotations

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.scan.analyzer import Limits
from dockyard.scan.scanner import ScanFailed, ScanUnsupported, scan_image
from dockyard.storage import BlobStore
from dockyard.vulndb.matcher import Matcher, match
from dockyard.workers.jobs import JobKind
from dockyard.workers.scan_job import ScanJobs


def job_kinds(settings: Settings, db: Database, store: BlobStore) -> dict[str, JobKind]:
    scanning = ScanJobs(
        db,
        store,
        scanner=scan_image,
        matcher=match,
        failure=ScanFailed,
        unsupported=ScanUnsupported,
        rematcher=Matcher,
        limits=Limits(),
    )
    kinds = [
        JobKind("scan", scanning.scan, scanning.give_up),
        JobKind("rematch", scanning.rematch),
    ]
    return {kind.name: kind for kind in kinds}
