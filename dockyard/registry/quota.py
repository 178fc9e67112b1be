"""Storage limits, applied where a push is about to store something.

A push into a repository must fit the limit of its project and of every group above it.
Blob uploads are refused before their bytes are stored: when a session starts in a scope
already at its limit, when a chunk's declared length or its received bytes would pass the
room left (checked at the start of the request), and once more inside the transaction
that links the blob, against the counters every committed push has moved (exact: no
blob link ever takes a scope past its limit). A blob the scope already holds, or a mount
of one, costs nothing. Manifests count too but are refused only once a scope is over its
limit, so an image whose blobs fit can always be finished (``usage.on_link``).

Which paths have limits is cached per process for ``LIMITS_TTL`` seconds, so a push into
a project without a limit anywhere above it costs no query at all. The final check in the
transaction never uses the cache.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dockyard.db.engine import Database
from dockyard.db.queries import usage_limits
from dockyard.db.queries.accounts import ancestor_paths, project_candidates
from dockyard.db.queries.usage import QuotaExceeded, Room
from dockyard.oci.errors import Code, RegistryError
from dockyard.sizes import format_size
from dockyard.webhooks import outbox
from dockyard.webhooks.events import SYSTEM, Event, Origin

LIMITS_TTL = 5.0
log = logging.getLogger("dockyard.registry.quota")


def denied(room: Room) -> RegistryError:
    """403 DENIED: 'quota exceeded: 1.2 GiB used of 1 GiB (project acme/app)'."""
    return RegistryError(
        Code.DENIED,
        f"quota exceeded: {format_size(room.used)} used of {format_size(room.limit)} "
        f"({room.kind} {room.path})",
        {"scope": room.kind, "path": room.path, "used_bytes": room.used, "limit_bytes": room.limit},
    )


@contextmanager
def enforced(
    db: Database | None = None, repository: str = "", origin: Origin = SYSTEM
) -> Iterator[None]:
    """Turn a refusal inside a write transaction into the client's 403; with ``db``, the
    ``quota_exceeded`` event is queued in a transaction of its own (the refused one rolled
    back, taking nothing with it)."""
    try:
        yield
    except QuotaExceeded as refused:
        if db is not None:
            record_refusal(db, repository, refused.room, origin)
        raise denied(refused.room) from None


def record_refusal(db: Database, repository: str, room: Room, origin: Origin = SYSTEM) -> None:
    detail = {"scope": room.kind, "path": room.path, "used_bytes": room.used}
    detail["limit_bytes"] = room.limit
    event = Event("quota_exceeded", repository, detail=detail)
    try:
        db.transact(lambda conn: outbox.emit(conn, event, origin))
    except Exception:  # the refusal stands even if its event cannot be written
        log.exception("queueing the quota_exceeded event of %s failed", repository)


class Quota:
    """The pre-checks of one process; ``changed()`` when this process sets a limit."""

    def __init__(
        self, db: Database, ttl: float = LIMITS_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._limited: frozenset[str] = frozenset()
        self._read_at: float | None = None

    def changed(self) -> None:
        with self._lock:
            self._read_at = None

    def _limited_paths(self) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            if self._read_at is not None and now - self._read_at < self._ttl:
                return self._limited
        with self._db.session() as conn:
            found = usage_limits.limited_paths(conn)
        with self._lock:
            self._limited, self._read_at = found, now
        return found

    def surely_unlimited(self, repository: str) -> bool:
        """True when the cached list, still fresh, says no limit applies: the caller
        needs no query and no worker thread to know it."""
        with self._lock:
            fresh = self._read_at is not None and self._clock() - self._read_at < self._ttl
            limited = self._limited
        return fresh and not _applies(limited, repository)

    def room(self, repository: str, digest: str | None = None) -> Room | None:
        """What a push into ``repository`` may still store; None when no limit applies
        (or ``digest`` is already held by every limited scope)."""
        if not _applies(self._limited_paths(), repository):
            return None
        with self._db.session() as conn:
            return usage_limits.room(conn, repository, digest)

    def check_start(self, repository: str, digest: str | None = None) -> None:
        """Refuse a new upload into a scope that is at or over its limit."""
        left = self.room(repository, digest)
        if left is not None and left.bytes <= 0:
            record_refusal(self._db, repository, left)
            raise denied(left)

    def check_fits(self, repository: str, size: int, digest: str | None = None) -> None:
        """Refuse ``size`` more bytes that would pass a limit."""
        left = self.room(repository, digest)
        if left is not None and size > left.bytes:
            record_refusal(self._db, repository, left)
            raise denied(left)


def _applies(limited: frozenset[str], repository: str) -> bool:
    """Whether any limited path could be the repository's project or a group above it."""
    if not limited:
        return False
    candidates = project_candidates(repository)
    return not limited.isdisjoint(set(candidates).union(*map(ancestor_paths, candidates)))


def check_bytes(room: Room | None, size: int) -> None:
    """Refuse an upload that has grown (or declares it will grow) past ``room``."""
    if room is not None and size > room.bytes:
        raise denied(room)
