"""Manifests: accept only complete ones, serve exact bytes, move tags atomically."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dockyard.db.engine import Database
from dockyard.db.queries import blobs as blob_rows
from dockyard.db.queries import gc as gc_rows
from dockyard.db.queries import manifests as manifest_rows
from dockyard.db.queries import repositories
from dockyard.db.queries import scans as scan_rows
from dockyard.db.queries import tags as tag_rows
from dockyard.db.read_cache import ReadCache
from dockyard.db.records import ManifestRecord, ReferrerRecord
from dockyard.oci.digest import Digest, digest_bytes, looks_like_digest, parse_digest
from dockyard.oci.errors import Code, RegistryError
from dockyard.oci.manifest import Manifest, accepts, parse_manifest
from dockyard.oci.names import check_tag, is_valid_tag
from dockyard.registry.protection import TagGuard
from dockyard.registry.quota import enforced
from dockyard.webhooks import outbox
from dockyard.webhooks.events import SYSTEM, Event, Origin


@dataclass(frozen=True, slots=True)
class Stored:
    digest: Digest
    subject: Digest | None


CACHED_MANIFEST_BYTES = 8192  # most image manifests are 1-4 KiB; indexes a little more


@dataclass(frozen=True, slots=True)
class Reference:
    """A manifest reference from a URL: exactly one of tag or digest."""

    tag: str | None
    digest: Digest | None

    @classmethod
    def parse(cls, text: str) -> Reference:
        """For writes: a malformed tag is the client's error (400)."""
        if looks_like_digest(text):
            return cls(None, parse_digest(text))
        return cls(check_tag(text), None)

    @classmethod
    def lookup(cls, text: str) -> Reference:
        """For reads and deletes: a tag that cannot exist is simply not found (404)."""
        if not looks_like_digest(text) and not is_valid_tag(text):
            raise _unknown(text)
        return cls.parse(text)


def _small(record: ManifestRecord | None) -> bool:
    """Worth keeping in memory: 2,000 of these stay under 16 MiB."""
    return record is None or len(record.payload) <= CACHED_MANIFEST_BYTES


def _unknown(reference: str) -> RegistryError:
    return RegistryError(Code.MANIFEST_UNKNOWN, detail={"reference": reference[:300]})


def _check_references(session: object, repository_id: int, manifest: Manifest) -> int:
    """Every blob and child manifest must already be in this repository; the total size."""
    wanted = {str(d.digest): d for d in manifest.blobs}
    found = blob_rows.linked_in(session, repository_id, list(wanted)) if wanted else {}
    children = [str(d.digest) for d in manifest.manifests]
    present = manifest_rows.existing(session, repository_id, children) if children else {}
    missing = [d for d in wanted if d not in found] + [d for d in children if d not in present]
    if missing:
        raise RegistryError(
            Code.MANIFEST_BLOB_UNKNOWN,
            f"manifest references {len(missing)} blob(s) or manifest(s) not in this repository",
            {"digests": missing[:50]},
        )
    for digest, descriptor in wanted.items():
        if descriptor.size != found[digest]:
            raise RegistryError(
                Code.MANIFEST_INVALID,
                "a descriptor's size does not match the blob",
                {"digest": digest, "declared": descriptor.size, "actual": found[digest]},
            )
    return manifest.size + sum(found.values()) + sum(present.values())


def _platforms(manifest: Manifest) -> str | None:
    """'os/arch[/variant]' of an index's children, for listings."""
    names = []
    for child in manifest.manifests:
        platform = child.platform or {}
        if isinstance(platform.get("os"), str) and isinstance(platform.get("architecture"), str):
            parts = [platform["os"], platform["architecture"], platform.get("variant")]
            names.append("/".join(p for p in parts if isinstance(p, str) and p))
    return json.dumps(names) if names else None


def _queue_scans(session: object, repository: str, digest: str, manifest: Manifest) -> None:
    """Queue the scan in the push's own transaction: no push without its scan queued.
    An index is not scanned itself; its platform manifests are (queued at their own push,
    so this finds them already known unless scanning was switched on since)."""
    if not manifest.is_index:
        scan_rows.request_scan(session, repository, digest)
        return
    for child in manifest.manifests:
        scan_rows.request_scan(session, repository, str(child.digest))


class Manifests:
    def __init__(
        self,
        db: Database,
        max_bytes: int,
        scan_on_push: bool = False,
        gc_delay: timedelta = timedelta(days=1),
    ) -> None:
        self._db = db
        self.max_bytes = max_bytes
        self.scan_on_push = scan_on_push
        self.gc_delay = gc_delay  # how long what loses its last reference waits for GC
        # Pulls repeat the same few manifests: answered from memory between commits.
        self._records = ReadCache(db.data_version, max_entries=2_000)

    def put(
        self,
        repository: str,
        reference: str,
        payload: bytes,
        content_type: str,
        guard: TagGuard | None = None,
        origin: Origin = SYSTEM,
    ) -> Stored:
        """Store the manifest and point the tag at it; ``guard``: the tag protection rules
        the caller's push must pass (None: no rule can apply); ``origin``: who pushed, for
        the ``push`` event queued in the same transaction."""
        ref = Reference.parse(reference)
        manifest = parse_manifest(payload, content_type)
        digest = manifest.digest
        if ref.digest is not None:
            digest = digest_bytes(payload, ref.digest.algorithm)
            if digest != ref.digest:
                raise RegistryError(
                    Code.DIGEST_INVALID,
                    "the manifest does not match the digest in the URL",
                    {"expected": str(ref.digest), "actual": str(digest)},
                )

        def write(session: object) -> None:
            self.store_in(session, repository, ref, manifest, payload, guard, digest, origin)

        with enforced(self._db, repository, origin):
            self._db.transact(write)
        subject = manifest.subject.digest if manifest.subject else None
        return Stored(digest, subject)

    def store_in(
        self,
        session: object,
        repository: str,
        ref: Reference,
        manifest: Manifest,
        payload: bytes,
        guard: TagGuard | None = None,
        pushed_as: Digest | None = None,
        origin: Origin = SYSTEM,
    ) -> None:
        """Store a parsed manifest in ``repository`` within the caller's write transaction
        (a push, or one manifest of a promotion), and point ``ref.tag`` at it, queueing
        the ``push`` event with it. ``pushed_as``: the digest the client named, when of
        another algorithm."""
        digest = str(pushed_as or manifest.digest)
        subject = manifest.subject.digest if manifest.subject else None
        references = {str(d.digest): "blob" for d in manifest.blobs}
        references.update({str(d.digest): "manifest" for d in manifest.manifests})
        repository_id = repositories.ensure(session, repository)
        if guard is not None and ref.tag is not None:
            guard.check_push(session, repository_id, ref.tag, digest)
        total_size = _check_references(session, repository_id, manifest)
        manifest_id = manifest_rows.store(
            session,
            repository_id,
            digest=digest,
            media_type=manifest.media_type,
            artifact_type=manifest.referrer_artifact_type,
            subject_digest=str(subject) if subject else None,
            config_digest=str(manifest.config.digest) if manifest.config else None,
            annotations=json.dumps(manifest.annotations) if manifest.annotations else None,
            payload=payload,
            references=references,
            total_size=total_size,
            platforms=_platforms(manifest),
            enforce="under",  # refused only once the project or a group is over
            repository=repository,
        )
        moved_from = None
        if ref.tag is not None:
            moved_from = gc_rows.tagged_digests(session, repository_id, [ref.tag])
            tag_rows.point(session, repository_id, ref.tag, manifest_id)
        self._gc_after_put(session, repository_id, digest, manifest, ref, moved_from)
        if self.scan_on_push:
            _queue_scans(session, repository, digest, manifest)
        pushed = Event("push", repository, ref.tag, digest, manifest.media_type, total_size)
        outbox.emit(session, pushed, origin)

    def _gc_after_put(
        self,
        session: object,
        repository_id: int,
        digest: str,
        manifest: Manifest,
        ref: Reference,
        moved_from: list[str] | None,
    ) -> None:
        """What this push references is no GC candidate any more; a manifest it untagged,
        or this one when pushed without a tag, becomes one."""
        gc_rows.forget_links(session, repository_id, [str(d.digest) for d in manifest.blobs])
        kept = [str(d.digest) for d in manifest.manifests]
        after = datetime.now(UTC) + self.gc_delay
        if ref.tag is not None:
            kept.append(digest)
            untagged = [d for d in moved_from or [] if d != digest]
            gc_rows.review_manifests(session, repository_id, untagged, after, "tag_moved")
        else:
            gc_rows.review_manifests(session, repository_id, [digest], after, "pushed_untagged")
        gc_rows.forget_manifests(session, repository_id, kept)

    def get(self, repository: str, reference: str, accept: str | None) -> ManifestRecord:
        ref = Reference.lookup(reference)
        record = self._records.get(
            (repository, reference), lambda: self._find(repository, ref), _small
        )
        if record is None:
            raise _unknown(reference)
        if not accepts(accept, record.media_type):
            raise RegistryError(
                Code.MANIFEST_UNKNOWN,
                "the manifest exists but not in a media type the client accepts",
                {"reference": reference, "mediaType": record.media_type},
            )
        return record

    def _find(self, repository: str, ref: Reference) -> ManifestRecord | None:
        with self._db.session() as session:
            if ref.digest is not None:
                return manifest_rows.by_digest(session, repository, str(ref.digest))
            return manifest_rows.by_tag(session, repository, ref.tag)

    def delete(
        self,
        repository: str,
        reference: str,
        guard: TagGuard | None = None,
        origin: Origin = SYSTEM,
    ) -> None:
        """Delete a tag (by tag) or the manifest and every tag on it (by digest), if
        ``guard``'s tag protection rules let the caller; the event goes with it."""
        ref = Reference.lookup(reference)

        def remove(session: object) -> bool:
            repository_id = repositories.find_id(session, repository)
            if repository_id is None:
                raise RegistryError(Code.NAME_UNKNOWN, detail={"name": repository})
            after = datetime.now(UTC) + self.gc_delay
            if guard is not None:
                guard.check_delete(session, repository_id, ref.tag, ref.digest)
            if ref.digest is not None:
                digest = str(ref.digest)
                gone = self._delete_manifest(session, repository_id, digest, after)
                if gone:
                    event = Event("manifest_delete", repository, digest=digest)
                    outbox.emit(session, event, origin)
                return gone
            untagged = gc_rows.tagged_digests(session, repository_id, [reference])
            removed = tag_rows.remove(session, repository_id, reference)
            gc_rows.review_manifests(session, repository_id, untagged, after, "untagged")
            if removed:
                digest = untagged[0] if untagged else None
                outbox.emit(session, Event("tag_delete", repository, reference, digest), origin)
            return removed

        if not self._db.transact(remove):
            raise _unknown(reference)

    @staticmethod
    def _delete_manifest(session: object, repository_id: int, digest: str, after: object) -> bool:
        """Delete the manifest and its tags; what it referenced, and its referrers, are
        queued for garbage collection."""
        found = gc_rows.lock_manifest(session, repository_id, digest)
        if found is None:
            return False
        blobs, children = gc_rows.manifest_references(session, found[0])
        referrers = gc_rows.referrers_of(session, repository_id, digest)
        gc_rows.delete_manifest(session, found[0])
        gc_rows.review_links(session, repository_id, blobs, after, "manifest_deleted")
        gc_rows.review_manifests(
            session, repository_id, children + referrers, after, "parent_deleted"
        )
        scan_rows.forget_unused_many(session, [digest])
        return True

    def referrers(
        self, repository: str, subject: Digest, artifact_type: str | None
    ) -> list[ReferrerRecord]:
        with self._db.session() as session:
            return manifest_rows.referrers(session, repository, str(subject), artifact_type)
