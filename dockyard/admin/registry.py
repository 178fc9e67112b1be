"""Managing image repositories and tags: listings, details, deletes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dockyard.admin import NotFound
from dockyard.admin.cleanup import CleanupRules
from dockyard.auth.service import project_candidates
from dockyard.db.engine import Database
from dockyard.db.queries import accounts, management
from dockyard.db.records_management import RepositoryRow, TagRow
from dockyard.oci.manifest import parse_manifest
from dockyard.storage import BlobStore
from dockyard.webhooks import outbox
from dockyard.webhooks.events import SYSTEM, Event, Origin

CONFIG_READ_LIMIT = 1024 * 1024
DELETE_BATCH = 1000  # tags per delete transaction (a bulk delete may name 100,000)


@dataclass(frozen=True)
class TagPage:
    rows: list[TagRow]
    total: int


@dataclass(frozen=True)
class TagDetail:
    tag: TagRow
    manifest: dict[str, Any]
    config: dict[str, Any] | None
    layers: list[dict[str, Any]] = field(default_factory=list)
    platforms: list[dict[str, Any]] = field(default_factory=list)
    referrers: list[dict[str, Any]] = field(default_factory=list)


class RegistryAdmin:
    def __init__(
        self, db: Database, store: BlobStore, gc_delay: timedelta = timedelta(days=1)
    ) -> None:
        self._db = db
        self._store = store
        self._gc_delay = gc_delay  # untagged manifests wait this long for collection

    def project_repositories(self, project_path: str, name_filter: str = "") -> list[RepositoryRow]:
        """The project's repositories (not those of projects nested below it)."""
        with self._db.session() as conn:
            rows = management.repositories(conn, [project_path], name_filter)
            owners = {
                row.name: accounts.longest_project(conn, project_candidates(row.name))
                for row in rows
            }
        return [r for r in rows if owners[r.name] and owners[r.name].path == project_path]

    def owning_project(self, repository: str) -> str | None:
        """The path of the project a repository belongs to, if any."""
        with self._db.session() as conn:
            found = accounts.longest_project(conn, project_candidates(repository))
        return found.path if found else None

    def repositories_under(
        self, prefixes: list[str], name_filter: str = "", limit: int | None = None
    ) -> list[RepositoryRow]:
        with self._db.session() as conn:
            return management.repositories(conn, prefixes, name_filter, limit)

    def repository(self, repository_id: int) -> RepositoryRow:
        with self._db.session() as conn:
            row = management.repository(conn, repository_id)
        if row is None:
            raise NotFound("no such repository")
        return row

    def repository_by_name(self, name: str) -> RepositoryRow:
        with self._db.session() as conn:
            found = management.repository_id(conn, name)
        if found is None:
            raise NotFound("no such repository")
        return self.repository(found)

    def schedule_delete(self, repository_id: int, origin: Origin = SYSTEM) -> RepositoryRow:
        """Schedule the deletion; the ``repository_delete`` event is queued with it."""
        with self._db.session(write=True) as conn:
            if management.schedule_deletion(conn, repository_id):
                row = management.repository(conn, repository_id)
                if row is not None:
                    outbox.emit(conn, Event("repository_delete", row.name), origin)
        return self.repository(repository_id)

    def tags(self, repository_id: int, **query: Any) -> TagPage:
        name_filter = query.get("name_filter", "")
        with self._db.session() as conn:
            rows = management.tag_page(conn, repository_id, **query)
            total = management.count_tags(conn, repository_id, name_filter)
        return TagPage(rows, total)

    def tags_named(self, text: str, limit: int = 200) -> list[tuple[str, str, str]]:
        with self._db.session() as conn:
            return management.tags_named(conn, text, limit)

    def where_digest(self, prefix: str, limit: int = 200) -> list[tuple[str, str, str]]:
        with self._db.session() as conn:
            return management.where_digest(conn, prefix, limit)

    def badges(self, repository_id: int, digests: list[str]) -> dict[str, list[str]]:
        """Digest -> badges ('signed', 'sbom', 'attestation') from its referrers."""
        with self._db.session() as conn:
            types = management.referrer_types(conn, repository_id, digests)
        return {digest: sorted({_badge(t) for t in kinds}) for digest, kinds in types.items()}

    def tag(self, repository_id: int, name: str) -> TagRow:
        with self._db.session() as conn:
            row = management.tag(conn, repository_id, name)
        if row is None:
            raise NotFound(f"no tag {name!r}")
        return row

    def tag_detail(self, repository_id: int, name: str) -> TagDetail:
        return self._detail(repository_id, self.tag(repository_id, name))

    def manifest_bytes(self, repository_id: int, digest: str) -> tuple[str, bytes]:
        """(media type, the exact bytes pushed) of one manifest, for downloads."""
        with self._db.session() as conn:
            found = management.manifest_payload(conn, repository_id, digest)
        if found is None:
            raise NotFound(f"no manifest {digest!r}")
        return found

    def manifest_detail(self, repository_id: int, digest: str) -> TagDetail:
        """An untagged manifest (an index's platform image) shown as a tag page is."""
        with self._db.session() as conn:
            row = management.manifest_row(conn, repository_id, digest)
        if row is None:
            raise NotFound(f"no manifest {digest!r}")
        return self._detail(repository_id, row)

    def _detail(self, repository_id: int, tag: TagRow) -> TagDetail:
        with self._db.session() as conn:
            media_type, payload = management.manifest_payload(conn, repository_id, tag.digest)
            referrers = management.referrers_of(conn, repository_id, tag.digest)
            children = [str(d.digest) for d in parse_manifest(payload, media_type).manifests]
            sizes = management.manifest_sizes(conn, repository_id, children)
        manifest = parse_manifest(payload, media_type)
        config = self._config(manifest.config.digest if manifest.config else None)
        return TagDetail(
            tag=tag,
            manifest=json.loads(payload),
            config=config,
            layers=[
                {"digest": str(d.digest), "size": d.size, "media_type": d.media_type}
                for d in manifest.layers
            ],
            platforms=[
                # the platform image's compressed size (manifest, config, layers), not
                # the few hundred bytes of its manifest the index's descriptor gives
                {
                    "digest": str(d.digest),
                    "size": sizes.get(str(d.digest), d.size),
                    "stored": str(d.digest) in sizes,
                    **(d.platform or {}),
                }  # fmt: skip
                for d in manifest.manifests
            ],
            referrers=[
                {"digest": d, "artifact_type": a, "kind": _badge(a or "")} for d, a in referrers
            ],
        )

    def _config(self, digest: object) -> dict[str, Any] | None:
        """The image config (env, entrypoint, labels, history), if it is a small JSON blob."""
        if digest is None:
            return None
        size = self._store.stat(digest)
        if size is None or size > CONFIG_READ_LIMIT:
            return None
        try:
            config = json.loads(b"".join(self._store.read(digest)))
        except ValueError:
            return None
        return config if isinstance(config, dict) else None

    def delete_tags(
        self,
        repository_id: int,
        names: list[str],
        pushed: dict[str, datetime] | None = None,
        origin: Origin = SYSTEM,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Delete tags (every delete of the API, the UI and cleanup policies comes here);
        with ``pushed``, only those whose push time is still the one given. What they
        pointed at is queued for garbage collection; a ``tag_delete`` event per tag is
        queued in the same transaction. ``progress(done, total)`` hears each batch."""
        after = datetime.now(UTC) + self._gc_delay

        def delete(conn: object, batch: list[str]) -> int:
            gone = management.delete_tags(conn, repository_id, batch, after, pushed)
            name = management.repository_name(conn, repository_id) if gone else None
            if name is not None:
                events = [Event("tag_delete", name, tag, digest) for tag, digest in gone.items()]
                outbox.emit_all(conn, events, origin)
            return len(gone)

        deleted = 0
        for start in range(0, len(names), DELETE_BATCH):  # short transactions
            batch = names[start : start + DELETE_BATCH]
            deleted += self._db.transact(lambda conn, b=batch: delete(conn, b))
            if progress is not None:
                progress(start + len(batch), len(names))
        return deleted

    def matching_tags(
        self, repository_id: int, name_filter: str, pushed_before: datetime | None = None
    ) -> dict[str, datetime]:
        """Name -> push time of every tag the filter matches; with ``pushed_before``, only
        those pushed by then (a tag pushed after a delete was confirmed was not counted)."""
        with self._db.session() as conn:
            ages = management.tag_ages(conn, repository_id, name_filter)
        return {n: at for n, at in ages if pushed_before is None or at <= pushed_before}

    def bulk_delete(self, repository_id: int, rules: CleanupRules, dry_run: bool) -> list[str]:
        with self._db.session() as conn:
            ages = management.tag_ages(conn, repository_id)
        chosen = rules.select(ages, datetime.now(UTC))
        if not dry_run and chosen:
            self.delete_tags(repository_id, chosen)
        return chosen


def _badge(artifact_type: str) -> str:
    kind = artifact_type.lower()
    if "signature" in kind or "cosign.artifact.sig" in kind:
        return "signed"
    if "spdx" in kind or "cyclonedx" in kind or "sbom" in kind:
        return "sbom"
    return "attestation" if "in-toto" in kind or "attest" in kind else "artifact"
