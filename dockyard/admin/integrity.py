"""`dockyard check`: compare the blob store with its digests and with the database.

The store and the blob rows are walked side by side in digest order (the store lists
in that order, the rows come in keyset pages), and each blob is re-hashed in bounded
chunks, so memory stays constant however large the registry grows.

What can be wrong, and what ``repair`` does about it:

- ``missing``: a blob row whose bytes are gone -> marked unavailable;
- ``corrupt``: bytes that no longer hash to their digest, or whose size differs from
  the recorded one -> marked unavailable (the bytes stay for inspection);
- ``orphaned``: bytes with no blob row (a crash between the two), or a file in the
  store that is no blob at all (misplaced, misnamed) -> removed;
- ``stale_upload``: upload-session bytes with no session row -> removed;
- ``restorable``: a blob marked unavailable whose bytes are whole again (copied back
  from a backup) -> the mark is cleared.

A blob marked unavailable is neither served nor counted as present (HEAD, GET, mount,
manifest checks), so clients push it again, and that push clears the mark.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dockyard.db.engine import Database
from dockyard.db.queries import blobs as blob_rows
from dockyard.db.queries import uploads as upload_rows
from dockyard.db.records import BlobRow
from dockyard.oci.digest import Digest, parse_digest
from dockyard.oci.errors import RegistryError
from dockyard.storage import BlobStore, StorageError

PAGE = 1000
STRAY = "neither a blob nor an upload session"
SETTLE_SECONDS = 1.0  # how long a push's bytes may go without their row
KINDS = ("missing", "corrupt", "orphaned", "stale_upload", "restorable")
# Findings that repair fixes for good; missing and corrupt bytes need a re-push.
FIXED_BY_REPAIR = {"removed", "mark cleared"}


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # one of KINDS
    subject: str  # a digest, or an upload id for stale_upload
    detail: str
    action: str | None = None  # what repair did (None: nothing was done)

    @property
    def fixed(self) -> bool:
        return self.action in FIXED_BY_REPAIR


@dataclass(frozen=True, slots=True)
class Report:
    blobs_checked: int
    bytes_checked: int
    findings: tuple[Finding, ...]
    repaired: bool

    @property
    def ok(self) -> bool:
        """Nothing is wrong any more (a repair that fixed everything counts as clean)."""
        return all(f.fixed for f in self.findings)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)


@dataclass
class Progress:
    """Hooks for a progress display: ``start(total_bytes)``, then ``advance(bytes)``."""

    start: Callable[[int], None] = field(default=lambda total: None)
    advance: Callable[[int], None] = field(default=lambda done: None)


def check_integrity(
    db: Database, store: BlobStore, repair: bool = False, progress: Progress | None = None
) -> Report:
    """Verify every blob and upload session; with ``repair``, fix what can be fixed."""
    progress = progress or Progress()
    with db.session() as session:
        progress.start(blob_rows.total_size(session))
    uploads = list(store.iter_uploads())  # listed first: the walk gives new sessions time
    findings: list[Finding] = []
    orphans: list[str] = []
    checked = hashed = 0
    for row, digest in _side_by_side(_rows(db), store.iter_digests()):
        if row is None:
            orphans.append(str(digest))
            continue
        checked += 1
        finding, size = _verify(store, row, progress)
        hashed += size
        if finding is not None:
            findings.append(finding)
    orphans, uploads = _settled(db, store, orphans, uploads)
    findings += [Finding("orphaned", d, "stored bytes have no blob row") for d in orphans]
    findings += [Finding("stale_upload", u, "upload bytes have no session row") for u in uploads]
    findings += [Finding("orphaned", name, STRAY) for name in store.iter_strays()]
    if repair:
        findings = _repair(db, store, findings)
    return Report(checked, hashed, tuple(findings), repair)


def _rows(db: Database) -> Iterator[BlobRow]:
    """Every blob row in digest order, one short transaction per page."""
    after = ""
    while True:
        with db.session() as session:
            page = blob_rows.page(session, after, PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].digest


def _side_by_side(
    rows: Iterator[BlobRow], stored: Iterator[Digest]
) -> Iterator[tuple[BlobRow | None, Digest | None]]:
    """Merge two digest-ordered streams: (row, digest) pairs, None where one side lacks it."""
    row, digest = next(rows, None), next(stored, None)
    while row is not None or digest is not None:
        if digest is None or (row is not None and row.digest < str(digest)):
            yield row, None
            row = next(rows, None)
        elif row is None or str(digest) < row.digest:
            yield None, digest
            digest = next(stored, None)
        else:
            yield row, digest
            row, digest = next(rows, None), next(stored, None)


def _verify(store: BlobStore, row: BlobRow, progress: Progress) -> tuple[Finding | None, int]:
    """Re-hash one recorded blob; a finding if it is wrong, and the bytes read."""
    try:
        digest = parse_digest(row.digest)
    except RegistryError:
        return Finding("corrupt", row.digest, "the recorded digest is malformed"), 0
    size = store.stat(digest)
    if size is None:
        return Finding("missing", row.digest, "no stored bytes", _already(row)), 0
    hasher = digest.hasher()
    read = 0
    try:
        for chunk in store.read(digest):
            hasher.update(chunk)
            read += len(chunk)
            progress.advance(len(chunk))
    except StorageError:
        return Finding("missing", row.digest, "no stored bytes", _already(row)), read
    except OSError as error:  # unreadable (permissions, I/O error): not servable either
        detail = f"cannot be read: {error.strerror or error}"
        return Finding("corrupt", row.digest, detail, _already(row)), read
    progress.advance(max(row.size - read, 0))  # keep the bar honest when sizes differ
    if hasher.hexdigest() != digest.hex:
        detail = "content does not match the digest"
        return Finding("corrupt", row.digest, detail, _already(row)), read
    if read != row.size:
        detail = f"size is {read} bytes, the database records {row.size}"
        return Finding("corrupt", row.digest, detail, _already(row)), read
    if row.unavailable is not None:
        detail = f"marked {row.unavailable} but the stored bytes are whole again"
        return Finding("restorable", row.digest, detail), read
    return None, read


def _already(row: BlobRow) -> str | None:
    return "already marked unavailable" if row.unavailable else None


def _settled(
    db: Database, store: BlobStore, orphans: list[str], uploads: list[str]
) -> tuple[list[str], list[str]]:
    """The orphans and upload files that stay without a row, confirmed after a pause.

    A push writes bytes just before their row (a session's file before its session
    row, a blob's file before its blob row), so what the walk saw without a row may be
    a push in progress; only what is still without a row a moment later is reported.
    """
    for pause in (0.0, SETTLE_SECONDS):
        if not orphans and not uploads:
            break
        time.sleep(pause)
        with db.session() as session:
            known = upload_rows.existing(session, uploads)
            orphans = [d for d in orphans if blob_rows.find(session, d) is None]
        orphans = [d for d in orphans if store.stat(parse_digest(d)) is not None]
        uploads = [u for u in uploads if u not in known and _still_there(store, u)]
    return orphans, uploads


def _still_there(store: BlobStore, upload_id: str) -> bool:
    """False when the session ended meanwhile (a push finished: row and bytes both gone)."""
    try:
        store.upload_size(upload_id)
    except StorageError:
        return False
    return True


def _repair(db: Database, store: BlobStore, findings: list[Finding]) -> list[Finding]:
    in_flight = _commit_in_flight(db, store)
    repaired = []
    for finding in findings:
        action = _repair_one(db, store, finding, in_flight)
        repaired.append(Finding(finding.kind, finding.subject, finding.detail, action))
    return repaired


def _commit_in_flight(db: Database, store: BlobStore) -> bool:
    """Whether an upload may be between renaming its bytes and writing its blob row.

    Its session row still exists then, while its session bytes are gone. Without such
    a session, a blob file with no row cannot be a push that is about to finish.
    """
    with db.session() as session:
        sessions = upload_rows.all_ids(session)
    holding = set(store.iter_uploads())
    return any(upload_id not in holding for upload_id in sessions)


def _repair_one(db: Database, store: BlobStore, finding: Finding, in_flight: bool) -> str | None:
    if finding.kind == "stale_upload":
        with db.session() as session:
            if upload_rows.existing(session, [finding.subject]):
                return "kept: the session exists now"
        store.abort(finding.subject)
        return "removed"
    if finding.kind == "orphaned" and finding.detail == STRAY:
        store.delete_stray(finding.subject)
        return "removed"
    if finding.kind == "orphaned":
        with db.session() as session:
            if blob_rows.find(session, finding.subject) is not None:
                return "kept: its blob row exists now"
        if in_flight:
            return "kept: an upload is being committed; run the check again"
        store.delete(parse_digest(finding.subject))
        return "removed"
    if finding.kind == "restorable":
        with db.session(write=True) as session:
            blob_rows.mark_unavailable(session, finding.subject, None)
        return "mark cleared"
    if finding.action is not None:  # missing or corrupt, and marked by an earlier run
        return finding.action
    return _mark(db, store, finding)


def _mark(db: Database, store: BlobStore, finding: Finding) -> str:
    """Mark a missing or corrupt blob unavailable, unless a push healed it meanwhile."""
    with db.session() as session:
        row = blob_rows.find(session, finding.subject)
    if row is None:
        return "kept: its blob row is gone"
    if _verify(store, row, Progress())[0] is None:
        return "kept: whole again (pushed meanwhile)"
    with db.session(write=True) as session:
        blob_rows.mark_unavailable(session, finding.subject, finding.kind)
    return "marked unavailable"
