"""Every job kind the workers run, and what runs it: the one place they are wired."""

from __future__ import annotations

from typing import Any

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.scan.analyzer import Limits
from dockyard.scan.model import Finding, Inventory
from dockyard.storage import BlobStore
from dockyard.workers.jobs import JobKind
from dockyard.workers.scan_job import ScanJobs


class ScannerMissing(Exception):
    """This build has no built-in scanner: scans are recorded failed, with this reason."""

    reason = "this Dockyard has no built-in scanner"


def _no_scanner(_store: BlobStore, _manifest: dict[str, Any], _limits: Limits) -> Inventory:
    raise ScannerMissing(ScannerMissing.reason)


def _no_matcher(_db: Database, _inventory: Inventory) -> list[Finding]:
    return []


def _scanner() -> tuple[Any, type[Exception]]:
    try:
        from dockyard.scan.scanner import ScanFailed, scan_image
    except ImportError:
        return _no_scanner, ScannerMissing
    return scan_image, ScanFailed


def _matcher() -> Any:
    try:
        from dockyard.vulndb.matcher import match
    except ImportError:  # no advisory store yet: inventories are kept, nothing matches
        return _no_matcher
    return match


def job_kinds(settings: Settings, db: Database, store: BlobStore) -> dict[str, JobKind]:
    scan_image, scan_failed = _scanner()
    scanning = ScanJobs(
        db, store, scanner=scan_image, matcher=_matcher(), failure=scan_failed, limits=Limits()
    )
    kinds = [
        JobKind("scan", scanning.scan, scanning.give_up),
        JobKind("rematch", scanning.rematch),
    ]
    return {kind.name: kind for kind in kinds}
