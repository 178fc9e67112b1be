"""What the signing keys are for, and which the settings keep in a file instead.

Apart from ``keys`` so that a quick start-up check can ask without loading the crypto.
"""

from __future__ import annotations

from dockyard.config import Settings

TOKEN = "token"
SESSION = "session"
PURPOSES = (TOKEN, SESSION)


def uses_file(settings: Settings, purpose: str) -> bool:
    """Whether the operator named a key file (then it is the only token key)."""
    return purpose == TOKEN and bool(settings.signing_key_file)


def kept_in_database(settings: Settings) -> list[str]:
    """The purposes whose keys live in the ``signing_keys`` table."""
    return [purpose for purpose in PURPOSES if not uses_file(settings, purpose)]
