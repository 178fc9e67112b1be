"""Password hashing with Argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

import functools
import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dockyard.auth.credentials import PREFIXES

_HASHER = PasswordHasher()


@functools.cache
def _dummy() -> str:
    """Verified against when the user does not exist, so both paths cost the same time.
    Made at the first such login, not at import: an Argon2 hash takes 64 MiB and a tenth
    of a second, which every server process paid at start-up."""
    return _HASHER.hash("dockyard-timing-equaliser")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


MIN_LENGTH = 12
MAX_LENGTH = 1024  # Argon2 takes any length; this only bounds the work one request can ask for


def password_problem(username: str, password: str, min_length: int = MIN_LENGTH) -> str | None:
    """Why ``password`` may not be used by ``username`` (a message saying what to do), or None.

    Length is what makes a password strong, and the account's own name adds nothing to
    it, so it must be long enough without the username in it.
    """
    if len(password) < min_length:
        return f"the password is too short: use at least {min_length} characters"
    if len(password) > MAX_LENGTH:
        return f"the password is too long: use at most {MAX_LENGTH} characters"
    if password.startswith(tuple(PREFIXES.values())):  # every login would take it for a token
        return "the password must not start like an access token (dy_…_): choose another one"
    rest = password.lower().replace(username.lower(), "") if username else password
    if len(rest) < min_length:  # the username is the first thing anyone guesses
        return (
            f"the password leans on the username: use at least {min_length} characters besides it"
        )
    return None


def password_stamp(password_hash: str | None) -> str:
    """A short mark of the stored hash, carried by the bearer and refresh tokens a password
    login gets: a new password (new salt, new hash) ends them at once. It says nothing
    about the password: it is a digest of a salted Argon2 hash."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]
