"""Load OSV advisories from files, folders and osv.dev zip exports, idempotently.

Records stream one at a time (a zip member is read only when its turn comes) and are
written in batches, one transaction each: memory stays flat whatever the archive size.
A record replaces what we hold only when its ``modified`` is newer; a withdrawn record
keeps its row (so an older copy is not taken back) but loses its ranges, so it stops
matching. The summary names the (ecosystem, package) pairs whose advisories changed,
so a rematch can be limited to the inventories that hold them.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dockyard.db.engine import Database
from dockyard.db.queries import scans
from dockyard.db.queries import vulndb as q
from dockyard.vulndb.osv import InvalidRecord, Record, parse

log = logging.getLogger(__name__)

BATCH = 2000


@dataclass(frozen=True)
class Progress:
    """Hooks for a progress display: the number of records once known, then each one."""

    start: Callable[[int], None] = lambda total: None
    advance: Callable[[int], None] = lambda n: None


@dataclass(frozen=True)
class ImportSummary:
    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    skipped: int = 0  # no affected package in an ecosystem we support
    invalid: int = 0  # not JSON, or not an OSV record
    changed: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "withdrawn": self.withdrawn,
            "unchanged": self.unchanged,
            "skipped_unsupported_ecosystem": self.skipped,
            "invalid": self.invalid,
            "changed_packages": [
                {"ecosystem": eco, "package": name} for eco, name in sorted(self.changed)
            ],
        }


class SourceNotFound(ValueError):
    """A path given to import does not exist or is not a JSON file, folder or zip."""


def import_paths(
    db: Database, paths: Iterable[Path], progress: Progress | None = None, batch: int = BATCH
) -> ImportSummary:
    """Import every OSV record under ``paths``; see the module docstring."""
    paths = list(paths)
    for path in paths:
        if not path.exists():
            raise SourceNotFound(f"{path}: no such file or folder")
    progress = progress or Progress()
    progress.start(sum(_count(path) for path in paths))
    run = _Run(db)
    pending: dict[str, Record] = {}
    for data in _documents(paths, run):
        progress.advance(1)
        for item in data if isinstance(data, list) else [data]:
            try:
                record = parse(item)
            except InvalidRecord as error:
                log.warning("skipped: %s", error)
                run.counts["invalid"] += 1
                continue
            held = pending.get(record.id)
            if held is None or record.modified > held.modified:
                pending[record.id] = record
        if len(pending) >= batch:
            run.flush(list(pending.values()))
            pending.clear()
    if pending:
        run.flush(list(pending.values()))
    return run.finish()


class _Run:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.counts = dict.fromkeys(
            ("added", "updated", "withdrawn", "unchanged", "skipped", "invalid"), 0
        )
        self.changed: set[tuple[str, str]] = set()

    def flush(self, records: list[Record]) -> None:
        now = datetime.now(UTC)
        with self.db.session(write=True) as conn:
            stored = q.stored_states(conn, [r.id for r in records])
            remove, advisories, ranges = [], [], []
            for record in records:
                old = stored.get(record.id)
                if old is not None and record.modified <= old.modified:
                    self.counts["unchanged"] += 1
                    continue
                if old is None and record.unsupported:
                    self.counts["skipped"] += 1
                    continue
                if record.withdrawn and (old is None or old.withdrawn is None):
                    self.counts["withdrawn"] += 1
                else:
                    self.counts["added" if old is None else "updated"] += 1
                if old is not None:
                    remove.append(record.id)
                advisories.append(_advisory_row(record, now))
                if not record.withdrawn:
                    ranges.extend(_range_rows(record))
            self.changed |= q.keys_of(conn, remove)
            self.changed |= {(r["ecosystem"], r["package"]) for r in ranges}
            q.replace(conn, remove, advisories, ranges)
            if remove or advisories:
                # Stored inventories are matched again by a job, from the database alone;
                # queued in the same transaction, so a committed change always triggers it.
                scans.enqueue_rematch(conn)

    def finish(self) -> ImportSummary:
        with self.db.session(write=True) as conn:
            q.record_import(conn, datetime.now(UTC), self.counts)
        return ImportSummary(**self.counts, changed=frozenset(self.changed))


def _advisory_row(record: Record, now: datetime) -> dict[str, Any]:
    return {
        "id": record.id,
        "modified": record.modified,
        "published": record.published,
        "withdrawn": record.withdrawn,
        "summary": record.summary,
        "aliases": list(record.aliases),
        "severity": record.severity,
        "cvss_score": record.cvss_score,
        "imported_at": now,
    }


def _range_rows(record: Record) -> list[dict[str, Any]]:
    return [
        {
            "advisory_id": record.id,
            "ecosystem": a.ecosystem,
            "package": a.package,
            "range_type": a.range_type,
            "events": [list(e) for e in a.events],
            "versions": list(a.versions),
        }
        for a in record.affected
    ]


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        for folder, dirs, names in os.walk(path):
            dirs.sort()
            for name in sorted(names):
                if name.endswith((".json", ".zip")):
                    yield Path(folder) / name
    else:
        yield path


def _count(path: Path) -> int:
    total = 0
    for file in _files(path):
        if file.suffix == ".zip":
            try:
                with zipfile.ZipFile(file) as archive:
                    total += sum(1 for n in archive.namelist() if n.endswith(".json"))
            except zipfile.BadZipFile:
                continue
        else:
            total += 1
    return total


def _documents(paths: list[Path], run: _Run) -> Iterator[Any]:
    """Parsed JSON documents, one at a time; unreadable ones are counted and logged."""
    for path in paths:
        for file in _files(path):
            if file.suffix == ".zip":
                yield from _zip_documents(file, run)
            else:
                yield from _load(file.name, file.read_bytes, run)


def _zip_documents(file: Path, run: _Run) -> Iterator[Any]:
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile:
        log.warning("skipped %s: not a zip archive", file)
        run.counts["invalid"] += 1
        return
    with archive:
        for info in archive.infolist():
            if info.filename.endswith(".json") and not info.is_dir():
                yield from _load(info.filename, lambda i=info: archive.read(i), run)


def _load(name: str, read: Callable[[], bytes], run: _Run) -> Iterator[Any]:
    try:
        yield json.loads(read())
    except (ValueError, OSError) as error:
        log.warning("skipped %s: %s", name, error)
        run.counts["invalid"] += 1
