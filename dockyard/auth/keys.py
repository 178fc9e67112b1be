"""Secret files made on first start: the token signing key and the web session key.

Each is written to a private temporary file and hard-linked into place, so processes
starting together agree on whichever landed first and nobody reads half a key.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def ensure_secret_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's content, creating it (mode 0600) with ``make()`` if it is missing."""
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


def _new_signing_key() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_signing_key(path: Path) -> None:
    """The EC P-256 key registry tokens are signed with."""
    ensure_secret_file(path, _new_signing_key)


def session_secret(path: Path) -> str:
    """The key web sessions are signed with."""
    return ensure_secret_file(path, lambda: secrets.token_urlsafe(48).encode()).decode().strip()
