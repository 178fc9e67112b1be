"""The ``attach_sbom`` job: store a scanned image's CycloneDX SBOM beside it as an OCI
referrer, in each repository of a project that asks for it (``attach_sbom``).

The referrer is an artifact manifest (``artifactType`` ``application/vnd.cyclonedx+json``,
the empty config, one layer holding the SBOM) whose ``subject`` is the image, so
``oras discover``, the referrers API and registries that copy referrers all see it. It is
written as any push is (blob, then manifest), never scanned itself, and replaced when a
rescan finds a different inventory: the annotation ``dev.dockyard.sbom.inventory`` holds
a hash of the inventory, and an unchanged one is not written again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

from dockyard.auth.service import project_candidates
from dockyard.db.engine import Database
from dockyard.db.queries import blobs, policies, repositories, scans
from dockyard.oci.digest import digest_bytes, parse_digest
from dockyard.registry.manifests import Manifests
from dockyard.scan import results, sbom
from dockyard.scan.model import Inventory
from dockyard.storage import BlobStore

log = logging.getLogger("dockyard.workers.sbom")

CYCLONEDX = "application/vnd.cyclonedx+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = b"{}"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
INVENTORY_KEY = "dev.dockyard.sbom.inventory"


def inventory_hash(inventory: Inventory) -> str:
    rows = sorted(
        (p.name, p.version, p.ecosystem, p.layer_digest, p.path) for p in inventory.packages
    )
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


class SbomReferrers:
    def __init__(self, db: Database, store: BlobStore, max_manifest_bytes: int) -> None:
        self.db = db
        self.store = store
        self.manifests = Manifests(db, max_manifest_bytes, scan_on_push=False)

    def wanted(self, digest: str) -> list[str]:
        """The repositories holding ``digest`` whose project attaches SBOMs."""
        with self.db.session() as conn:
            attaching = set(policies.sbom_projects(conn))
            if not attaching:
                return []
            held = scans.repositories_with(conn, digest)
        return [r for r in held if any(p in attaching for p in project_candidates(r))]

    def attach(self, payload: dict[str, Any]) -> None:
        digest = payload["digest"]
        targets = self.wanted(digest)
        if not targets:
            return
        with self.db.session() as conn:
            inventory = results.load_inventory(conn, digest)
            found = scans.manifest_payload(conn, digest)
        if inventory is None or found is None:
            return  # rescanned since, or deleted: a later job will do it
        media_type, raw = found
        subject = {"mediaType": media_type, "digest": digest, "size": len(raw)}
        marker = inventory_hash(inventory)
        for repository in targets:
            self._attach_one(repository, subject, inventory, marker)

    def _attach_one(
        self, repository: str, subject: dict[str, Any], inventory: Inventory, marker: str
    ) -> None:
        subject_digest = parse_digest(subject["digest"])
        existing = self.manifests.referrers(repository, subject_digest, CYCLONEDX)
        ours = [r for r in existing if INVENTORY_KEY in json.loads(r.annotations or "{}")]
        if any(json.loads(r.annotations or "{}")[INVENTORY_KEY] == marker for r in ours):
            return
        document = sbom.cyclonedx(inventory, repository, subject["digest"]).encode()
        layer = self._store_blob(repository, document)
        config = self._store_blob(repository, EMPTY)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": CYCLONEDX,
            "config": {"mediaType": EMPTY_TYPE, "digest": config, "size": len(EMPTY)},
            "layers": [
                {
                    "mediaType": CYCLONEDX,
                    "digest": layer,
                    "size": len(document),
                    "annotations": {"org.opencontainers.image.title": "sbom.cdx.json"},
                }
            ],
            "subject": subject,
            "annotations": {INVENTORY_KEY: marker},
        }
        body = json.dumps(manifest, separators=(",", ":")).encode()
        stored = self.manifests.put(repository, str(digest_bytes(body)), body, OCI_MANIFEST)
        for old in ours:  # an earlier inventory's SBOM: replaced, not piled up
            self.manifests.delete(repository, old.digest)
        log.info("attached SBOM %s to %s@%s", stored.digest, repository, subject["digest"])

    def _store_blob(self, repository: str, data: bytes) -> str:
        """Write ``data`` as a blob linked to ``repository``; its digest."""
        digest = digest_bytes(data)
        if self.store.stat(digest) is None:
            upload_id = str(uuid.uuid4())
            self.store.begin_upload(upload_id)
            try:
                writer = self.store.append(upload_id, 0)
                try:
                    writer.write(data)
                finally:
                    writer.close()
                self.store.commit(upload_id, digest)
            except BaseException:
                self.store.abort(upload_id)
                raise
        with self.db.session(write=True) as conn:
            repository_id = repositories.ensure(conn, repository)
            blobs.record_and_link(conn, repository_id, str(digest), len(data))
        return str(digest)
