"""Every job kind the workers run, and what runs it: the one place they are wired."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dockyard.admin.cleanup_service import Cleanups
from dockyard.admin.registry import RegistryAdmin
from dockyard.admin.tag_deletes import KIND as TAG_DELETE
from dockyard.admin.tag_deletes import TagDeletes
from dockyard.admin.tag_protection import TagProtection
from dockyard.auth.keys import token_signer
from dockyard.auth.scanner_tokens import scanner_authorization
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.scan.analyzer import Limits
from dockyard.scan.external import ExternalScanner
from dockyard.scan.scanner import ScanFailed, ScanUnsupported
from dockyard.storage import BlobStore
from dockyard.webhooks.sender import Sender
from dockyard.webhooks.ssrf import AllowList
from dockyard.workers.cleanup_job import KIND as CLEANUP
from dockyard.workers.cleanup_job import CleanupJobs
from dockyard.workers.jobs import JobKind
from dockyard.workers.sbom_referrer import SbomReferrers
from dockyard.workers.scan_job import ScanJobs
from dockyard.workers.scan_process import ScanProcess
from dockyard.workers.webhook_job import KIND as WEBHOOK
from dockyard.workers.webhook_job import WebhookJobs, retry_delay


def _match(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - passes through
    """The vulnerability matcher, imported at the first scan: its version libraries are a
    large import a server that never scans should not pay for at start-up."""
    from dockyard.vulndb.matcher import match

    return match(*args, **kwargs)


def _matcher(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - passes through
    from dockyard.vulndb.matcher import Matcher

    return Matcher(*args, **kwargs)


def scan_limits(settings: Settings) -> Limits:
    return Limits(
        max_layer_bytes=settings.scan_max_layer_bytes,
        max_files_per_layer=settings.scan_max_files_per_layer,
        max_file_bytes=settings.scan_max_file_bytes,
        max_jar_depth=settings.scan_max_jar_depth,
    )


def external_scanner(settings: Settings, db: Database) -> ExternalScanner | None:
    """The scanner adapter the settings name (``scanner_url``), or None: built-in."""
    if not settings.scanner_url:
        return None
    return ExternalScanner(
        settings.scanner_url,
        registry_url=settings.effective_scanner_registry_url,
        authorization=scanner_authorization(settings, lambda: token_signer(db, settings)),
        auth=settings.scanner_auth,
        timeout_seconds=settings.scanner_timeout_seconds,
    )


def registry_admin(settings: Settings, db: Database, store: BlobStore) -> RegistryAdmin:
    return RegistryAdmin(db, store, timedelta(seconds=settings.gc_review_delay_seconds))


def cleanups(settings: Settings, db: Database, store: BlobStore) -> Cleanups:
    """Cleanup policies as the jobs and the CLI run them; protected and immutable tags are
    kept (``may_delete`` answers why)."""
    admin = registry_admin(settings, db, store)
    protection = TagProtection(db, auth_on=settings.auth != "none")
    return Cleanups(db, admin, may_delete=protection.cleanup_refusal_when(settings.delete_enabled))


# Deliveries a worker leases at once: 16 at the 10 s timeout is under three minutes, well
# inside a lease, and makes a burst of events cost one claim per 16 deliveries.
DELIVERY_BATCH = 16


def webhook_kind(settings: Settings, db: Database) -> JobKind:
    """Deliveries, sent only where ``webhook_allowed_hosts`` or the public internet lets."""
    sender = Sender(AllowList.parse(settings.webhook_allowed_hosts))
    hooks = WebhookJobs(db, sender)
    return JobKind(WEBHOOK, hooks.run, hooks.give_up, retry_delay, batch=DELIVERY_BATCH)


def job_kinds(settings: Settings, db: Database, store: BlobStore) -> dict[str, JobKind]:
    external = external_scanner(settings, db)
    scanning = ScanJobs(
        db,
        store,
        scanner=ScanProcess(settings),  # low priority, off the serving threads
        matcher=_match,
        failure=ScanFailed,
        unsupported=ScanUnsupported,
        rematcher=_matcher,
        limits=scan_limits(settings),
        external=external.findings if external is not None else None,
    )
    referrers = SbomReferrers(db, store, settings.max_manifest_bytes)
    deletes = TagDeletes(registry_admin(settings, db, store))
    kinds = [
        JobKind("scan", scanning.scan, scanning.give_up),
        JobKind("rematch", scanning.rematch),
        JobKind("attach_sbom", referrers.attach),
        JobKind(CLEANUP, CleanupJobs(db, cleanups(settings, db, store)).run),
        webhook_kind(settings, db),
        JobKind(TAG_DELETE, deletes.run, reports_progress=True),
    ]
    return {kind.name: kind for kind in kinds}
