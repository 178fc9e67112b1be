"""Promotion: copy a tagged image to another repository by reference.

Blobs are content-addressed and shared, so a copy is rows, not bytes: the target
repository gets links to the same blobs and its own rows for the same manifest bytes,
all in one transaction, with the rules a push obeys (tag protection, quota, scans on
push). It takes milliseconds whatever the image's size, and a failure copies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.db.engine import Database
from dockyard.db.queries import blobs as blob_rows
from dockyard.db.queries import manifests as manifest_rows
from dockyard.db.queries import repositories
from dockyard.oci.digest import parse_digest
from dockyard.oci.errors import Code, RegistryError
from dockyard.oci.manifest import Manifest, parse_manifest
from dockyard.oci.names import check_name, check_tag
from dockyard.registry.manifests import Manifests, Reference
from dockyard.registry.protection import TagGuard
from dockyard.registry.quota import enforced
from dockyard.webhooks.events import SYSTEM, Origin


@dataclass(frozen=True, slots=True)
class Copied:
    """What a promotion made: the tag's digest and how many rows it linked."""

    digest: str
    manifests: int
    blobs: int


@dataclass
class _Plan:
    """Manifests in an order the target accepts (what a manifest references first), and
    every blob they use."""

    manifests: list[tuple[str, bytes, Manifest]] = field(default_factory=list)
    blobs: dict[str, None] = field(default_factory=dict)  # ordered set
    seen: set[str] = field(default_factory=set)


def parse_target(text: str, default_tag: str) -> tuple[str, str]:
    """``project/repo:tag`` (or ``project/repo``, keeping the tag's name) -> (name, tag);
    malformed names and tags are the caller's error (400)."""
    name, colon, tag = text.rpartition(":")
    if not colon or "/" in tag:  # no tag given: the colon, if any, was a port
        name, tag = text, default_tag
    return check_name(name), check_tag(tag)


class Promotion:
    def __init__(self, db: Database, manifests: Manifests) -> None:
        self._db = db
        self._manifests = manifests

    def copy(
        self,
        source: str,
        tag: str,
        target: str,
        target_tag: str,
        guard: TagGuard | None = None,
        referrers: bool = False,
        origin: Origin = SYSTEM,
    ) -> Copied:
        """Point ``target:target_tag`` at the manifest ``source:tag`` names, with every
        child manifest of an index and, with ``referrers``, the signatures, SBOMs and
        other referrers of each (theirs too). Each manifest the target receives queues
        its ``push`` event, as a push would, caused by ``origin``."""
        with self._db.session() as session:
            top = manifest_rows.by_tag(session, source, tag)
            if top is None:
                raise RegistryError(
                    Code.MANIFEST_UNKNOWN, f"{source}:{tag} does not exist", {"tag": tag}
                )
            plan = _Plan()
            _collect(session, source, top.digest, top.payload, top.media_type, plan, referrers)

        def write(session: object) -> None:
            repository_id = repositories.ensure(session, target)
            for digest in plan.blobs:
                size = blob_rows.hold(session, digest)
                if size is None:  # collected or lost since the source's push
                    raise RegistryError(
                        Code.BLOB_UNKNOWN, f"{source} has lost a blob it uses", {"digest": digest}
                    )
                blob_rows.link(session, repository_id, digest, size, "fit", target)
            for digest, payload, manifest in plan.manifests:
                tagged = digest == top.digest
                ref = Reference(target_tag, None) if tagged else Reference.parse(digest)
                self._manifests.store_in(
                    session, target, ref, manifest, payload, guard if tagged else None,
                    parse_digest(digest), origin,
                )

        with enforced(self._db, target, origin):
            self._db.transact(write)
        return Copied(top.digest, len(plan.manifests), len(plan.blobs))


def _collect(
    session: object,
    source: str,
    digest: str,
    payload: bytes,
    media_type: str,
    plan: _Plan,
    referrers: bool,
) -> None:
    """Add the manifest and what it needs to ``plan``, depth first: its blobs and
    children before it, its referrers after it."""
    if digest in plan.seen:
        return
    plan.seen.add(digest)
    manifest = parse_manifest(payload, media_type)
    for blob in manifest.blobs:
        plan.blobs[str(blob.digest)] = None
    for child in manifest.manifests:
        _collect_stored(session, source, str(child.digest), plan, referrers)
    plan.manifests.append((digest, payload, manifest))
    if referrers:
        for found in manifest_rows.referrers(session, source, digest, None):
            _collect_stored(session, source, found.digest, plan, referrers)


def _collect_stored(
    session: object, source: str, digest: str, plan: _Plan, referrers: bool
) -> None:
    record = manifest_rows.by_digest(session, source, digest)
    if record is None:  # the index's push made sure it was there; GC cannot take it
        raise RegistryError(Code.MANIFEST_UNKNOWN, f"{source}@{digest} is gone", {"digest": digest})
    _collect(session, source, record.digest, record.payload, record.media_type, plan, referrers)
