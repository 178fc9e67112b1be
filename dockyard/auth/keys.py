"""Signing keys every replica shares: the registry token key and the web session key.

They live in the database (table ``signing_keys``), so a token or a session cookie one
replica issued is accepted by all. The first key of each purpose is created once, by an
insert that does nothing when another replica won the race; a data dir from before keys
moved there has its key files imported instead, so tokens already issued stay valid.
Rotation adds a key that becomes current; the previous one keeps verifying until nothing
it signed can still be alive (``retention``), then it is dropped. An explicit
``signing_key_file`` is still honoured: the token key then comes from that file alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.auth.key_purposes import PURPOSES, SESSION, TOKEN, uses_file
from dockyard.auth.registry_tokens import LEEWAY_SECONDS, TokenSigner, key_id
from dockyard.auth.scanner_tokens import GRACE_SECONDS
from dockyard.config import Settings
from dockyard.db.engine import Database, DatabaseUnavailable
from dockyard.db.queries import keys as rows
from dockyard.db.records import SigningKeyRecord

log = logging.getLogger("dockyard.keys")
REFRESH_SECONDS = 30.0  # how stale a replica's view of the keys may be
MISS_REFRESH_SECONDS = 1.0  # an unknown kid re-reads the keys at most this often


class KeyRefused(Exception):
    """A key operation that cannot be done as asked (says what to do instead)."""


@dataclass(frozen=True, slots=True)
class Key:
    kid: str
    secret: str
    generation: int
    created_at: datetime | None
    retired_at: datetime | None


def _new_signing_key() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _new_session_secret() -> bytes:
    return secrets.token_urlsafe(48).encode()


def kid_of(purpose: str, secret: str) -> str:
    """The token key's libtrust id (what JWT headers carried before keys moved to the
    database), or a digest prefix of a session secret (never the secret itself)."""
    if purpose == TOKEN:
        private = serialization.load_pem_private_key(secret.encode(), password=None)
        return key_id(private.public_key())  # type: ignore[arg-type]
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


def retention(settings: Settings, purpose: str) -> timedelta:
    """How long a retired key keeps verifying: the longest life of what it signed, plus
    how late a replica may learn of the rotation (it signs with the old key meanwhile)
    and the clock leeway."""
    if purpose == TOKEN:
        longest = max(
            settings.token_ttl_seconds,
            settings.push_token_ttl_seconds,
            settings.refresh_token_ttl_seconds,
            settings.scanner_timeout_seconds + GRACE_SECONDS,
        )
    else:
        longest = settings.session_ttl_seconds
    return timedelta(seconds=longest + REFRESH_SECONDS + LEEWAY_SECONDS)


def ensure_secret_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's content, creating it (mode 0600) with ``make()`` if it is missing.

    Written to a private temporary file and hard-linked into place, so processes
    starting together agree on whichever landed first and nobody reads half a key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
        try:
            os.link(temporary, path)  # fails if another process won the race
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_bytes()


def legacy_file(settings: Settings, purpose: str) -> Path:
    """Where a data dir from before keys moved to the database kept this key."""
    return settings.data_dir / "keys" / ("token.pem" if purpose == TOKEN else "session.key")


def ensure_keys(db: Database, settings: Settings) -> None:
    """Create (or import from the data dir) the first key of each purpose, once."""
    for purpose in PURPOSES:
        if uses_file(settings, purpose):
            ensure_secret_file(settings.signing_key_path, _new_signing_key)
            continue
        with db.session() as conn:
            if rows.keys_of(conn, purpose):
                continue
        old = legacy_file(settings, purpose)
        if old.is_file():
            secret = old.read_text().strip() if purpose == SESSION else old.read_text()
            log.info("importing the %s key from %s into the database", purpose, old)
        else:
            make = _new_signing_key if purpose == TOKEN else _new_session_secret
            secret = make().decode()
        with db.session(write=True) as conn:
            rows.add_first(conn, purpose, kid_of(purpose, secret), secret)


def rotate(db: Database, settings: Settings, purpose: str) -> Key:
    """A new current key of ``purpose``; the previous one verifies until its retention
    ends. Keys past their retention are dropped on the way."""
    if uses_file(settings, purpose):
        raise KeyRefused(
            "the token key comes from signing_key_file, so it is not rotated here: "
            "unset signing_key_file to keep the keys in the database, or replace the file"
        )
    ensure_keys(db, settings)
    secret = (_new_signing_key if purpose == TOKEN else _new_session_secret)().decode()
    kid = kid_of(purpose, secret)
    with db.session(write=True) as conn:
        generation = rows.add_next(conn, purpose, kid, secret)
        rows.drop_retired(conn, purpose, datetime.now(UTC) - retention(settings, purpose))
    if generation is None:
        raise KeyRefused(f"another rotation of the {purpose} key ran at the same time; run again")
    return Key(kid, secret, generation, datetime.now(UTC), None)


def listing(db: Database, settings: Settings) -> list[dict[str, object]]:
    """Every kept key without its secret: purpose, kid, state, dates (dropping any past
    retention first, so the list shows what verifies)."""
    found: list[dict[str, object]] = []
    for purpose in PURPOSES:
        keep = retention(settings, purpose)
        if uses_file(settings, purpose):
            ring = file_ring(settings.signing_key_path)
            key = ring.current()
            found.append(_shown(purpose, key, str(settings.signing_key_path), None))
            continue
        with db.session(write=True) as conn:
            rows.drop_retired(conn, purpose, datetime.now(UTC) - keep)
            kept = rows.keys_of(conn, purpose)
        for record in kept:
            until = record.retired_at + keep if record.retired_at else None
            found.append(_shown(purpose, _key(record), "database", until))
    return found


def _shown(purpose: str, key: Key, source: str, until: datetime | None) -> dict[str, object]:
    return {
        "purpose": purpose,
        "kid": key.kid,
        "generation": key.generation,
        "state": "current" if key.retired_at is None else "verify-only",
        "source": source,
        "created_at": key.created_at,
        "retired_at": key.retired_at,
        "dropped_after": until,
    }


def _key(record: SigningKeyRecord) -> Key:
    return Key(record.kid, record.secret, record.generation, record.created_at, record.retired_at)


class KeyRing:
    """One purpose's keys as this process last read them: the current one signs, any of
    them verifies. Re-read every ``REFRESH_SECONDS``, and at once (at most once a second)
    when asked for a kid it does not know: a key another replica just made."""

    def __init__(self, load: Callable[[], list[Key]]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._keys: list[Key] = []
        self._read_at = float("-inf")
        self._missed_at = float("-inf")

    def _refresh(self, now: float) -> None:
        keys = self._load()
        if not keys:
            raise RuntimeError("no signing key: run `dockyard setup` (or start the server)")
        with self._lock:
            self._keys, self._read_at = keys, now

    def keys(self) -> list[Key]:
        """Every key, current first. While the database is out of reach the keys last
        read keep serving (tried again each second): keys change rarely, and refusing
        every session and token for a stale check would turn a blip into an outage."""
        now = time.monotonic()
        if now - self._read_at > REFRESH_SECONDS:
            try:
                self._refresh(now)
            except DatabaseUnavailable:
                if not self._keys:
                    raise
                self._read_at = now - REFRESH_SECONDS + 1.0
        return self._keys

    def current(self) -> Key:
        return self.keys()[0]

    def find(self, kid: str) -> Key | None:
        for key in self.keys():
            if key.kid == kid:
                return key
        now = time.monotonic()
        if now - self._missed_at < MISS_REFRESH_SECONDS:
            return None
        self._missed_at = now
        self._refresh(now)
        return next((key for key in self._keys if key.kid == kid), None)

    def reload(self) -> bool:
        """Re-read now unless that happened within the last second; whether it did."""
        now = time.monotonic()
        if now - self._missed_at < MISS_REFRESH_SECONDS:
            return False
        self._missed_at = now
        self._refresh(now)
        return True


def database_ring(db: Database, settings: Settings, purpose: str) -> KeyRing:
    """The keys of ``purpose`` from the database; retired keys past retention are
    dropped when this process notices them."""
    keep = retention(settings, purpose)

    def load() -> list[Key]:
        with db.session() as conn:
            kept = rows.keys_of(conn, purpose)
        cutoff = datetime.now(UTC) - keep
        if any(r.retired_at is not None and r.retired_at < cutoff for r in kept):
            with db.session(write=True) as conn:
                rows.drop_retired(conn, purpose, cutoff)
            kept = [r for r in kept if r.retired_at is None or r.retired_at >= cutoff]
        return [_key(record) for record in kept]

    return KeyRing(load)


def file_ring(path: Path) -> KeyRing:
    """The one token key of an explicit ``signing_key_file``."""

    def load() -> list[Key]:
        secret = path.read_text()
        return [Key(kid_of(TOKEN, secret), secret, 1, None, None)]

    return KeyRing(load)


def token_ring(db: Database, settings: Settings) -> KeyRing:
    if uses_file(settings, TOKEN):
        ensure_secret_file(settings.signing_key_path, _new_signing_key)
        return file_ring(settings.signing_key_path)
    return database_ring(db, settings, TOKEN)


def session_ring(db: Database, settings: Settings) -> KeyRing:
    """Read at once: the session middleware runs before any error handler, so it must
    have keys to fall back on if the database is out of reach later."""
    ring = database_ring(db, settings, SESSION)
    ring.keys()
    return ring


def token_signer(db: Database, settings: Settings) -> TokenSigner:
    """The registry token signer over the shared keys."""
    return TokenSigner(token_ring(db, settings), settings.token_issuer, settings.token_service)
