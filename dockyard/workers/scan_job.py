"""The ``scan`` and ``rematch`` job kinds.

``scan`` reads one image manifest's layers through the scanner, then matches the
inventory against the advisories; ``rematch`` matches every stored inventory again
without reading a layer (run after an advisory import). The scanner and the matcher
are given, not imported, so they are wired in one place (``kinds.py``) and tests can
hand in small real stand-ins.

With an ``external`` scanner (a Harbor-compatible adapter) the inventory is still read
here, for the SBOM and for where each package came from, but the findings are the
adapter's; a rematch then has nothing to do, since our advisories are not the ones used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dockyard.db.engine import Database
from dockyard.db.queries import jobs, policies, scans
from dockyard.oci import media_types as mt
from dockyard.scan import results
from dockyard.scan.analyzer import Limits
from dockyard.scan.external import ExternalScanFailed, ScanTarget
from dockyard.scan.model import Finding, Inventory
from dockyard.storage import BlobStore
from dockyard.webhooks import outbox
from dockyard.webhooks.events import SYSTEM, Event

log = logging.getLogger("dockyard.workers.scan")

Scanner = Callable[[BlobStore, dict[str, Any], Limits], Inventory]
Matcher = Callable[[Database, Inventory], list[Finding]]
External = Callable[[ScanTarget, Inventory], list[Finding]]
IMAGE_CONFIGS = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
REMATCH_BATCH = 500


def not_an_image(media_type: str, manifest: dict[str, Any]) -> str | None:
    """Why a manifest is not a scannable image (a signature, an SBOM, an index), or None."""
    if media_type in mt.INDEXES:
        return "an image index: each platform's manifest is scanned on its own"
    if media_type not in mt.IMAGE_MANIFESTS:
        return f"not an image manifest ({media_type})"
    if manifest.get("artifactType"):
        return f"an artifact ({str(manifest['artifactType'])[:200]}), not an image"
    config = manifest.get("config") or {}
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    if config_type not in IMAGE_CONFIGS:
        return f"an artifact (config {str(config_type)[:200]}), not an image"
    return None


class ScanJobs:
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        *,
        scanner: Scanner,
        matcher: Matcher,
        failure: type[Exception],
        limits: Limits,
        unsupported: type[Exception] | None = None,
        rematcher: Callable[[Database], Any] | None = None,
        external: External | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.scanner = scanner
        self.matcher = matcher
        self.failure = failure  # what the scanner raises for content it refuses (a reason)
        self.limits = limits
        self.unsupported = unsupported  # a kind of failure that means "not scannable"
        # Makes one matcher per rematch run (reads each package's ranges once); its
        # ``match_many(inventories)`` answers like ``matcher`` for each.
        self.rematcher = rematcher
        # Findings from a scanner adapter instead of ``matcher``; fails with ExternalScanFailed.
        self.external = external

    def scan(self, payload: dict[str, Any]) -> None:
        digest = payload["digest"]
        with self.db.session() as conn:
            found = scans.manifest_payload(conn, digest)
        if found is None:
            self._status(digest, "failed", "the manifest is no longer stored")
            return
        media_type, raw = found
        manifest = json.loads(raw)
        reason = not_an_image(media_type, manifest)
        if reason is not None:
            self._status(digest, "unsupported", reason)
            return
        self._status(digest, "scanning")
        try:
            inventory = self.scanner(self.store, manifest, self.limits)
            found_now = self._findings(payload, media_type, manifest, inventory)
        except (self.failure, ExternalScanFailed) as error:
            status = (
                "unsupported"
                if self.unsupported is not None and isinstance(error, self.unsupported)
                else "failed"
            )
            self._status(digest, status, str(getattr(error, "reason", "") or error)[:2000])
            return
        with self.db.session(write=True) as conn:
            results.save_inventory(conn, digest, inventory)
            new = results.save_findings(conn, digest, found_now)
            if policies.sbom_projects(conn):  # some project attaches SBOMs: maybe this one
                jobs.enqueue(conn, "attach_sbom", {"digest": digest}, f"attach_sbom:{digest}")
            detail = {"packages": len(inventory.packages), "findings": len(new)}
            if payload.get("repository"):
                done = Event("scan_completed", payload["repository"], None, digest, media_type)
                outbox.emit(conn, replace(done, detail=detail), SYSTEM)
        log.info("scanned %s: %d packages, %d findings", digest, len(inventory.packages), len(new))

    def _findings(
        self,
        payload: dict[str, Any],
        media_type: str,
        manifest: dict[str, Any],
        inventory: Inventory,
    ) -> list[Finding]:
        if self.external is None:
            return self.matcher(self.db, inventory)
        layers = tuple(
            str(layer.get("digest"))
            for layer in manifest.get("layers") or []
            if isinstance(layer, dict)
        )
        target = ScanTarget(payload["repository"], payload["digest"], media_type, layers)
        return self.external(target, inventory)

    def give_up(self, payload: dict[str, Any], error: str) -> None:
        """Every attempt crashed (an unreadable blob, say): show it as a failed scan."""
        self._status(payload["digest"], "failed", f"the scan kept failing: {error}"[:2000])

    def rematch(self, _payload: dict[str, Any]) -> None:
        """Match every stored inventory again; findings that persist keep first_seen_at."""
        if self.external is not None:
            log.info("rematch skipped: findings come from the external scanner")
            return
        run = self.rematcher(self.db) if self.rematcher is not None else None
        after, total, new = None, 0, 0
        while True:
            with self.db.session() as conn:
                batch = scans.inventoried(conn, after, REMATCH_BATCH)
                inventories = [(d, results.load_inventory(conn, d)) for d in batch]
            present = [(d, inv) for d, inv in inventories if inv is not None]
            if run is not None:
                matched = run.match_many([inv for _, inv in present])
            else:
                matched = [self.matcher(self.db, inv) for _, inv in present]
            with self.db.session(write=True) as conn:
                for (digest, _), found_now in zip(present, matched, strict=True):
                    new += len(results.save_findings(conn, digest, found_now))
            total += len(batch)
            if len(batch) < REMATCH_BATCH:
                break
            after = batch[-1]
        log.info("rematched %d inventories: %d new findings", total, new)

    def _status(self, digest: str, status: str, reason: str | None = None) -> None:
        with self.db.session(write=True) as conn:
            scans.set_status(conn, digest, status, reason)
