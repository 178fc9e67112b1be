"""Online garbage collection: delete what nothing references, while pushes go on.

Pushes and deletes queue *reviews* (dockyard.db.queries.gc) in their own transactions.
A pass takes the due ones in batches and, for each, locks the object, checks again that
nothing references it, and only then deletes it: manifests first (which queues their
blob links and child manifests), then blob links (which queue the blob), then blob rows
(which leave a tombstone), and last the bytes in storage, after the row's deletion has
committed. A crash anywhere leaves either a review or a tombstone that the next pass
finishes; never a row that points at missing bytes. ``sweep`` queues reviews for what
no event queued (data from before collection existed, or repaired by hand), and
``orphans`` deletes bytes that no row names.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dockyard.db.engine import Database, TransientConflict
from dockyard.db.models import GcBlobReview, GcLinkReview, GcManifestReview
from dockyard.db.queries import gc as rows
from dockyard.db.queries import scans as scan_rows
from dockyard.oci.digest import parse_digest
from dockyard.storage.base import BlobStore

log = logging.getLogger("dockyard.gc")
BATCH = 100  # objects per transaction: short holds of the (SQLite) write lock
LEASE = timedelta(seconds=60)  # a claimed review comes due again after this (crash, busy)
Progress = Callable[[str, int], None]  # (phase, items done in this step)
# Called after each of the collector's write transactions with the seconds it took; a
# server's background pass rests there so that pushes waiting for the database go first.
Pace = Callable[[float], None]


class DryRun(Exception):
    """Raised at the end of a dry run to roll its one transaction back."""


@dataclass
class Removed:
    manifests: int = 0
    manifest_bytes: int = 0
    blob_links: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    orphans: int = 0
    orphan_bytes: int = 0
    kept: int = 0  # reviews whose object turned out to be in use
    per_repository: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: {"manifests": 0, "blob_links": 0})
    )

    def merge(self, other: Removed) -> None:
        for name, value in vars(other).items():
            if name == "per_repository":
                for repository, counts in value.items():
                    for kind, n in counts.items():
                        self.per_repository[repository][kind] += n
            else:
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self, verbose: bool = False) -> dict:
        shown = {k: v for k, v in vars(self).items() if k != "per_repository"}
        if verbose:
            shown["per_repository"] = {k: dict(v) for k, v in sorted(self.per_repository.items())}
        return shown


class Collector:
    def __init__(
        self,
        db: Database,
        store: BlobStore,
        *,
        untagged: bool = True,
        batch: int = BATCH,
        pace: Pace | None = None,
        max_hold: float | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.untagged = untagged  # collect manifests that lost their last tag
        self.batch = batch
        self.pace = pace
        # With ``max_hold``, each phase sizes its batches (up to ``batch``) so that one
        # transaction holds the database about that long: a manifest costs far more
        # than a blob row, so one fixed size is either slow or long-held.
        self.max_hold = max_hold
        self._sizes: dict[str, int] = {}
        self._holds: dict[str, float] = {}
        self._until: float | None = None

    def _out_of_time(self) -> bool:
        return self._until is not None and time.monotonic() > self._until

    def _size(self, phase: str) -> int:
        return self._sizes.get(phase, self.batch if self.max_hold is None else 1)

    @contextlib.contextmanager
    def _paced(self, phase: str | None = None, rest: bool = True) -> Iterator[None]:
        started = time.perf_counter()
        yield
        held = time.perf_counter() - started
        if phase is not None and self.max_hold is not None:
            self._resize(phase, held)
        if self.pace is not None and rest:
            self.pace(held)

    def _resize(self, phase: str, held: float) -> None:
        """Steer the phase's batch towards ``max_hold`` on a moving average of hold
        times, so one slow commit (a checkpoint, a busy disk) does not halve it."""
        average = self._holds[phase] = 0.8 * self._holds.get(phase, held) + 0.2 * held
        size = self._size(phase)
        if average > self.max_hold:  # type: ignore[operator]
            self._sizes[phase] = max(1, int(size * 0.8))
        elif average < 0.7 * self.max_hold:  # type: ignore[operator]
            self._sizes[phase] = min(self.batch, int(size * 1.2) + 1)

    # --- a pass ---------------------------------------------------------------------

    def run(
        self,
        *,
        now: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
        seconds: float | None = None,
    ) -> Removed:
        """Collect everything due (with ``now``, everything queued, whatever its delay).

        With ``seconds``, stop after about that long, between batches: on a registry
        that never stops pushing, a pass that goes on until nothing is due would never
        end, nor report (or audit) what it removed. The next pass goes on from there.
        """
        self._until = None if seconds is None else time.monotonic() + seconds
        removed = Removed()
        if dry_run:
            try:
                with self.db.session(write=True) as conn:
                    self._cycle(conn, removed, now, progress, storage=False)
                    raise DryRun
            except DryRun:
                pass
            return removed
        self._cycle(None, removed, now, progress, storage=True)
        return removed

    def full_pass(
        self, delay: timedelta, *, dry_run: bool = False, progress: Progress | None = None
    ) -> tuple[Removed, int]:
        """What ``dockyard gc`` does: queue what no event queued (due after ``delay``),
        collect everything due, then delete bytes no row names. A dry run does it all in
        one transaction that it rolls back, and only counts orphans. (Removed, queued)."""
        removed, queued = Removed(), 0
        now = delay <= timedelta(0)
        if dry_run:
            try:
                with self.db.session(write=True) as conn:
                    queued = self.sweep(delay, progress, conn)
                    self._cycle(conn, removed, now, progress, storage=False)
                    raise DryRun
            except DryRun:
                pass
        else:
            queued = self.sweep(delay, progress)
            self._cycle(None, removed, now, progress, storage=True)
        removed.orphans, removed.orphan_bytes = self.orphans(dry_run, progress)
        return removed, queued

    def _cycle(self, conn, removed: Removed, now: bool, progress, storage: bool) -> None:  # noqa: ANN001
        # Deleting an index queues its children, a manifest its links, a link its blob:
        # go round until a round finds nothing due.
        while True:
            done = 0
            for phase, table, step in (
                ("manifests", GcManifestReview, self._manifests),
                ("blob links", GcLinkReview, self._links),
                ("blobs", GcBlobReview, self._blobs),
            ):
                done += self._drain(conn, phase, table, step, removed, now, progress)
            if not done or self._out_of_time():
                break
        if storage:
            self._storage(removed, progress)

    def _drain(self, conn, phase, table, step, removed, now, progress) -> int:  # noqa: ANN001
        total, seen = 0, set()
        while True:
            at = None if now else datetime.now(UTC)
            size = self._size(phase)
            keys = self._batch(conn, phase, table, step, removed, at)
            fresh = [k for k in keys if k not in seen]  # with ``now``, busy ones come back
            seen.update(keys)
            total += len(fresh)
            if progress is not None and fresh:
                progress(phase, len(fresh))
            if len(keys) < size or not fresh or self._out_of_time():
                return total

    def _batch(self, conn, phase, table, step, removed: Removed, at) -> list:  # noqa: ANN001
        lease = datetime.now(UTC) + LEASE
        size = self._size(phase)
        if conn is not None:  # a dry run: one transaction, rolled back at the end
            keys = rows.claim(conn, table, at, size, lease)
            if keys:
                busy = step(conn, keys, removed)
                rows.drop_reviews(conn, table, [k for k in keys if k not in busy], lease)
            return keys
        with self._paced(rest=False), self.db.session(write=True) as claiming:
            keys = rows.claim(claiming, table, at, size, lease)
        if not keys:
            return keys
        counted = Removed()  # merged only if the batch commits

        def process(own) -> None:  # noqa: ANN001
            busy = step(own, keys, counted)
            rows.drop_reviews(own, table, [k for k in keys if k not in busy], lease)

        try:
            with self._paced(phase):
                self.db.transact(process, attempts=1)
        except TransientConflict as error:  # a deadlock PostgreSQL broke: leases expire
            log.warning("garbage collection batch rolled back, will retry: %s", error)
            return keys
        removed.merge(counted)
        return keys

    # Each takes a batch of claimed keys and returns those a push holds right now: their
    # reviews stay (leased) and come due again; the collector never waits on a push.

    def _manifests(self, conn, keys: list, removed: Removed) -> set:  # noqa: ANN001
        found, busy = rows.lock_manifests(conn, keys)
        if not self.untagged or not found:
            removed.kept += len(found)
            return busy
        in_use = rows.manifests_in_use(conn, found)
        removed.kept += len(in_use)
        doomed = {k: v for k, v in found.items() if k not in in_use}
        if not doomed:
            return busy
        links, manifests = rows.delete_manifests(conn, doomed)
        now = datetime.now(UTC)
        rows.review_keys(conn, GcManifestReview, manifests, now, "parent_collected")
        rows.review_keys(conn, GcLinkReview, links, now, "manifest_collected")
        scan_rows.forget_unused_many(conn, sorted({d for _, d in doomed}))
        names = rows.names_of(conn, {r for r, _ in doomed})
        for (repository_id, _digest), (_id, size, _subject) in doomed.items():
            removed.manifests += 1
            removed.manifest_bytes += size
            removed.per_repository[names.get(repository_id, str(repository_id))]["manifests"] += 1
        return busy

    def _links(self, conn, keys: list, removed: Removed) -> set:  # noqa: ANN001
        locked, busy = rows.lock_links(conn, keys)
        if not locked:
            return busy
        in_use = rows.links_in_use(conn, locked)
        removed.kept += len(in_use)
        doomed = locked - in_use
        if doomed:
            rows.delete_links(conn, doomed)
            rows.review_blobs(conn, {d for _, d in doomed}, datetime.now(UTC), "unlinked")
            names = rows.names_of(conn, {r for r, _ in doomed})
            for repository_id, _digest in doomed:
                removed.blob_links += 1
                name = names.get(repository_id, str(repository_id))
                removed.per_repository[name]["blob_links"] += 1
        return busy

    def _blobs(self, conn, keys: list, removed: Removed) -> set:  # noqa: ANN001
        sizes, busy = rows.lock_blobs(conn, [k[0] for k in keys])
        if sizes:
            in_use = rows.blobs_in_use(conn, list(sizes))
            removed.kept += len(in_use)
            doomed = {d: s for d, s in sizes.items() if d not in in_use}
            if doomed:
                rows.delete_blobs(conn, doomed)
                removed.blobs += len(doomed)
                removed.blob_bytes += sum(doomed.values())
        return {(d,) for d in busy}

    def _storage(self, removed: Removed, progress: Progress | None) -> None:
        """Delete the bytes of blobs whose rows are gone; each after its row's commit, under
        its digest's lock, unless an upload has made the digest live again meanwhile."""
        while True:
            size = self._size("storage")
            with self._paced("storage"), self.db.session(write=True) as conn:
                digests = sorted(d for d, _size in rows.tombstones(conn, size))
                for digest in digests:
                    rows.lock_digest(conn, digest)
                alive = rows.existing_blobs(conn, digests)
                # A rename under the lock; the slow unlinks come after letting go of it.
                tokens = [self.store.detach(parse_digest(d)) for d in digests if d not in alive]
                rows.drop_tombstones(conn, digests)
            for token in tokens:
                if token is not None:
                    self.store.purge(token)
            if progress is not None and digests:
                progress("storage", len(digests))
            if len(digests) < size or self._out_of_time():
                return

    # --- what no event queued -----------------------------------------------------------

    def sweep(self, delay: timedelta, progress: Progress | None = None, conn=None) -> int:  # noqa: ANN001
        """Queue a review for every unreferenced manifest, link and blob not queued yet,
        due after ``delay``; how many were queued. With ``conn`` (a dry run) everything
        happens in that one transaction."""
        after = datetime.now(UTC) + delay
        queued = 0
        for phase, finder, queue, start in (
            (
                "scanning manifests",
                rows.unreferenced_manifests,
                rows.queue_manifest_if_new,
                (0, ""),
            ),
            ("scanning blob links", rows.unreferenced_links, rows.queue_link_if_new, (0, "")),
            ("scanning blobs", rows.unlinked_blobs, rows.queue_blob_if_new, ""),
        ):
            cursor = start
            while True:
                with self._session(conn) as c:
                    found = finder(c, cursor, 1000)
                    for key in found:
                        queue(c, *(key if isinstance(key, tuple) else (key,)), after)
                queued += len(found)
                if progress is not None and found:
                    progress(phase, len(found))
                if len(found) < 1000:
                    break
                cursor = found[-1]
        return queued

    @contextlib.contextmanager
    def _session(self, conn):  # noqa: ANN001, ANN202
        if conn is not None:
            yield conn
            return
        with self._paced(), self.db.session(write=True) as own:
            yield own

    def orphans(self, dry_run: bool = False, progress: Progress | None = None) -> tuple[int, int]:
        """Delete (or count) bytes in storage that no blob row or tombstone names: what a
        crash between an upload's commit and its row could leave. Checked again under the
        digest's lock, so an upload committing this very digest is never touched."""
        if not dry_run:
            self.store.purge_detached()  # a crash between detach and purge left these
        count = size = 0
        page: list = []
        for digest in self.store.iter_digests():
            page.append(digest)
            if len(page) >= 1000:
                c, s = self._orphan_page(page, dry_run)
                count, size, page = count + c, size + s, []
                if progress is not None:
                    progress("checking storage", 1000)
        if page:
            c, s = self._orphan_page(page, dry_run)
            count, size = count + c, size + s
        return count, size

    def _orphan_page(self, page: list, dry_run: bool) -> tuple[int, int]:
        with self.db.session() as conn:
            known = rows.known_blobs(conn, [str(d) for d in page])
        count = size = 0
        for digest in page:
            if str(digest) in known:
                continue
            with self.db.session(write=True) as conn:
                rows.lock_digest(conn, str(digest))
                if rows.known_blobs(conn, [str(digest)]):
                    continue
                bytes_ = self.store.stat(digest) or 0
                if not dry_run:
                    self.store.delete(digest)
            count += 1
            size += bytes_
        return count, size
