"""Vulnerability reports of manifests and projects, and rescans on request.

An image manifest reports its own scan; an index reports each platform manifest and
sums them. A manifest never queued (scanning was off when it was pushed) has status
None until someone asks for a scan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dockyard.admin import NotFound
from dockyard.db.engine import Database
from dockyard.db.queries import management, scans
from dockyard.oci import media_types as mt
from dockyard.scan import results, sbom
from dockyard.scan.model import SEVERITIES

# How an index's status follows from its children's: work in progress shows first.
STATUS_ORDER = ("scanning", "queued", None, "failed", "done", "unsupported")


@dataclass(frozen=True)
class PlatformReport:
    digest: str
    platform: dict[str, Any] | None
    status: str | None
    summary: dict[str, int]


@dataclass(frozen=True)
class Report:
    status: str | None
    reason: str | None
    scanned_at: datetime | None
    os: dict[str, str] | None
    summary: dict[str, int]
    findings: list[dict[str, Any]] | None = None  # an image's
    manifests: list[PlatformReport] | None = None  # an index's


@dataclass(frozen=True)
class ScanState:
    """What a list of tags shows of one manifest's scan (an index: its platforms')."""

    status: str | None
    reason: str | None
    summary: dict[str, int]


@dataclass(frozen=True)
class ImageSummary:
    repository_id: int
    repository: str
    digest: str
    tags: list[str] = field(default_factory=list)
    status: str | None = None
    summary: dict[str, int] = field(default_factory=dict)


def _summary(counts: dict[str, int] | None = None) -> dict[str, int]:
    return {s: (counts or {}).get(s, 0) for s in SEVERITIES}


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {s: a.get(s, 0) + b.get(s, 0) for s in SEVERITIES}


def _combined(statuses: list[str | None]) -> str | None:
    return min(statuses, key=STATUS_ORDER.index) if statuses else "unsupported"


def _worst_first(finding: dict[str, Any]) -> tuple[Any, ...]:
    rank = SEVERITIES.index(finding["severity"]) if finding["severity"] in SEVERITIES else 9
    return (rank, -(finding["cvss_score"] or 0.0), finding["advisory_id"], finding["package_name"])


def _index_state(
    platforms: list[str], found: dict[str, tuple[str, str | None, dict[str, int]]]
) -> ScanState:
    status = _combined([found[d][0] if d in found else None for d in platforms])
    total = _summary()
    for digest in platforms:
        total = _add(total, found[digest][2] if digest in found else {})
    reasons = [found[d][1] for d in platforms if d in found and found[d][0] == status]
    reason = None
    if reasons and reasons[0]:
        reason = f"{len(reasons)} of {len(platforms)} platforms: {reasons[0]}"
    return ScanState(status, reason, total)


class Vulnerabilities:
    def __init__(self, db: Database) -> None:
        self._db = db

    def report(self, repository_id: int, digest: str) -> Report:
        with self._db.session() as conn:
            found = management.manifest_payload(conn, repository_id, digest)
            if found is None:
                raise NotFound("no manifest with this digest in the repository")
            if found[0] in mt.INDEXES:
                return self._index_report(conn, json.loads(found[1]))
            record = scans.scan(conn, digest)
            rows = sorted(scans.findings(conn, digest), key=_worst_first)
        if record is None:
            return Report(None, "not scanned: request a scan", None, None, _summary(), [])
        os = {"id": record.os_id, "version": record.os_version or ""} if record.os_id else None
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["severity"]] = counts.get(row["severity"], 0) + 1
        return Report(
            record.status, record.reason, record.scanned_at, os, _summary(counts), findings=rows
        )

    def _index_report(self, conn: Any, index: dict[str, Any]) -> Report:
        listed = [m for m in index.get("manifests", []) if isinstance(m, dict)]
        digests = [str(m.get("digest")) for m in listed]
        statuses = scans.statuses(conn, digests)
        counts = scans.summaries(conn, digests)
        platforms = [
            PlatformReport(
                d,
                m.get("platform") if isinstance(m.get("platform"), dict) else None,
                statuses.get(d),
                _summary(counts.get(d)),
            )
            for d, m in zip(digests, listed, strict=True)
        ]
        total = _summary()
        for p in platforms:
            total = _add(total, p.summary)
        times = [r.scanned_at for d in digests if (r := scans.scan(conn, d)) and r.scanned_at]
        return Report(
            _combined([p.status for p in platforms]),
            None,
            max(times) if times else None,
            None,
            total,
            manifests=platforms,
        )

    def states(self, repository_id: int, manifests: dict[str, str]) -> dict[str, ScanState]:
        """Digest -> its scan state, for manifests given as digest -> media type: two
        queries for a whole page of tags, however many there are."""
        indexes = [d for d, media in manifests.items() if media in mt.INDEXES]
        with self._db.session() as conn:
            children = scans.children(conn, repository_id, indexes) if indexes else {}
            wanted = set(manifests) | {c for listed in children.values() for c in listed}
            found = scans.overview(conn, sorted(wanted))
        states = {}
        for digest, media in manifests.items():
            if media in mt.INDEXES:
                states[digest] = _index_state(children.get(digest, []), found)
            elif digest in found:
                status, reason, counts = found[digest]
                states[digest] = ScanState(status, reason, _summary(counts))
            else:
                states[digest] = ScanState(None, None, _summary())
        return states

    def sbom(self, repository_id: int, repository: str, digest: str, fmt: str) -> str:
        """The image's inventory as CycloneDX 1.6 or SPDX 2.3 JSON."""
        with self._db.session() as conn:
            if management.manifest_payload(conn, repository_id, digest) is None:
                raise NotFound("no manifest with this digest in the repository")
            inventory = results.load_inventory(conn, digest)
            record = scans.scan(conn, digest)
        if inventory is None:
            status = record.status if record else "never scanned"
            raise NotFound(
                f"no inventory for this image yet (scan status: {status}); "
                "request a scan and try again when it is done"
            )
        write = sbom.cyclonedx if fmt == "cyclonedx" else sbom.spdx
        return write(inventory, repository, digest)

    def rescan(self, repository_id: int, repository: str, digest: str) -> list[str]:
        """Queue a fresh scan of the manifest (of each platform of an index); the digests."""
        with self._db.session(write=True) as conn:
            found = management.manifest_payload(conn, repository_id, digest)
            if found is None:
                raise NotFound("no manifest with this digest in the repository")
            wanted = [digest]
            if found[0] in mt.INDEXES:
                wanted = scans.children(conn, repository_id, [digest]).get(digest, [])
            for each in wanted:
                scans.request_scan(conn, repository, each, force=True)
        return wanted

    def images(self, repositories: dict[int, str]) -> list[ImageSummary]:
        """Every tagged manifest of the repositories with its summary, worst first."""
        with self._db.session() as conn:
            tags: dict[tuple[int, str], list[str]] = {}
            types: dict[tuple[int, str], str] = {}
            tagged = scans.tagged_manifests(conn, list(repositories))
            for repo_id, tag, digest, media_type in tagged:
                tags.setdefault((repo_id, digest), []).append(tag)
                types[(repo_id, digest)] = media_type
            out = [
                self._summarised(conn, repo_id, repositories[repo_id], digest, names, types)
                for (repo_id, digest), names in tags.items()
            ]
        return sorted(out, key=lambda i: (*(-i.summary[s] for s in SEVERITIES), i.repository))

    def _summarised(
        self,
        conn: Any,
        repo_id: int,
        repository: str,
        digest: str,
        tags: list[str],
        types: dict[tuple[int, str], str],
    ) -> ImageSummary:
        digests = [digest]
        if types[(repo_id, digest)] in mt.INDEXES:
            digests = scans.children(conn, repo_id, [digest]).get(digest, [])
        statuses = scans.statuses(conn, digests)
        total = _summary()
        for counts in scans.summaries(conn, digests).values():
            total = _add(total, counts)
        status = _combined([statuses.get(d) for d in digests])
        return ImageSummary(repo_id, repository, digest, tags, status, total)
