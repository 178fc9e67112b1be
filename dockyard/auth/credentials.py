"""Token secrets: random, prefixed so secret scanners find them, stored only as a hash.

A secret has 32 random bytes (URL-safe base64), so a plain SHA-256 is enough to store
it: unlike a password there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

PREFIXES = {"personal": "dy_pat_", "deploy": "dy_deploy_", "job": "dy_job_"}
JOB_USERNAME = "dockyard-ci-token"
# Names no deploy token may log in as (nor a new user, except the first admin's own): an
# audit line or a login must never pass for the administrator or a system identity.
SYSTEM_NAMES = frozenset({"admin", JOB_USERNAME, "oidc", "anonymous"})
REGISTRY_SCOPES = frozenset({"read_registry", "write_registry", "api"})
DEPLOY_SCOPES = frozenset({"read_registry", "write_registry"})


@dataclass(frozen=True, slots=True)
class NewSecret:
    secret: str  # shown once, never stored
    secret_hash: str
    hint: str


def new_secret(kind: str) -> NewSecret:
    secret = PREFIXES[kind] + secrets.token_urlsafe(32)
    return NewSecret(secret, hash_secret(secret), secret[: len(PREFIXES[kind]) + 4])


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def session_key(secret: object) -> str | None:
    """What the database keeps of a web session cookie's secret (None for no session)."""
    if not isinstance(secret, str) or not secret or len(secret) > 100:
        return None
    return hash_secret(secret)


def token_kind(secret: str) -> str | None:
    """Which kind of token a secret is, judged by its prefix; None for a password."""
    for kind, prefix in PREFIXES.items():
        if secret.startswith(prefix):
            return kind
    return None
