"""From an ID token to a principal, and to and from exchange passwords.

A token is checked against the trusts of its issuer: its audience must be one of theirs,
and the principal gets the role of every trust whose audience and claim patterns match,
each in its own project. The principal's grants travel in tokens we sign (registry bearer
tokens, exchange passwords) as (trust, project, role) triples, and are re-checked against
the database: a deleted trust ends every login it allowed (deletion grows the auth epoch).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from dockyard.auth import policy
from dockyard.auth.oidc import OidcRefused
from dockyard.auth.oidc.claims import matches
from dockyard.auth.oidc.issuers import issuer_refusal, plain_http_allowed
from dockyard.auth.oidc.keys import IssuerKeys
from dockyard.auth.oidc.verifier import peek, verify
from dockyard.auth.principal import Principal
from dockyard.auth.registry_tokens import InvalidToken, TokenSigner
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.queries import oidc as trust_rows

USERNAME = "oidc"
PASSWORD_TYPE = "oidc_password"
EXCHANGE_TTL = 3600  # an exchange password lives at most this long, and never past the token
RECHECK_SECONDS = 10.0


class OidcLogin:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        signer: TokenSigner,
        epoch: Callable[[], int],
        keys: IssuerKeys | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._signer = signer
        self._epoch = epoch
        self._keys = keys or IssuerKeys()
        self._recheck: dict[tuple, tuple[float, int, bool]] = {}
        self._lock = threading.Lock()

    def login(self, password: str) -> Principal:
        """The principal behind an ID token or an exchange password, or OidcRefused."""
        if _issued_by(password) == self._signer.issuer:
            return self._from_password(password)
        return self._from_id_token(password)

    def _from_id_token(self, token: str) -> Principal:
        seen = peek(token)
        reason = issuer_refusal(seen.issuer, self._settings)
        if reason is not None:
            raise OidcRefused(reason)
        with self._db.session() as conn:
            trusts = trust_rows.of_issuer(conn, seen.issuer)
        if not trusts:
            raise OidcRefused(f"no project trusts the issuer {seen.issuer[:100]!r}")
        plain = plain_http_allowed(seen.issuer, self._settings)
        claims = verify(token, seen, {t.audience for t in trusts}, self._keys, plain)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        matched = tuple(
            (t.id, t.project_id, policy.ROLES[t.role])
            for t in trusts
            if t.audience in audiences and matches(t.claims, claims)
        )
        if not matched:
            raise OidcRefused("no trust matches the token's audience and claims")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise OidcRefused("the token names no subject (sub)")
        return Principal(
            "oidc",
            subject[:200],
            issuer=seen.issuer,
            trusts=matched,
            expires_at=int(claims["exp"]),
        )

    def claims_for(self, principal: Principal) -> dict[str, Any]:
        """What a token we sign carries to find this principal again."""
        return {
            "kind": "oidc",
            "uid": None,
            "cid": None,
            "oidc": {
                "iss": principal.issuer,
                "sub": principal.name,
                "trusts": [list(t) for t in principal.trusts],
                "exp": principal.expires_at,
            },
        }

    def from_claims(self, claims: dict[str, Any]) -> Principal | None:
        """The principal a token we signed names, while every trust it used still exists."""
        data = claims.get("oidc")
        if not isinstance(data, dict):
            return None
        issuer, subject, raw, expires = (data.get(k) for k in ("iss", "sub", "trusts", "exp"))
        if not isinstance(issuer, str) or not isinstance(subject, str):
            return None
        if not isinstance(expires, int) or not isinstance(raw, list):
            return None
        try:
            trusts = tuple((int(t), int(p), int(r)) for t, p, r in raw)
        except (TypeError, ValueError):
            return None
        if not trusts or expires < time.time() or issuer_refusal(issuer, self._settings):
            return None  # expired, or the issuer was taken off oidc_allowed_issuers
        if not self._still_trusted(trusts):
            return None
        return Principal("oidc", subject, issuer=issuer, trusts=trusts, expires_at=expires)

    def _still_trusted(self, trusts: tuple[tuple[int, int, int], ...]) -> bool:
        """Whether all of ``trusts`` exist: one read per few seconds, and at once after a
        deletion anywhere (the epoch grows)."""
        ids = tuple(sorted({t[0] for t in trusts}))
        epoch, now = self._epoch(), time.monotonic()
        with self._lock:
            cached = self._recheck.get(ids)
        if cached and cached[0] > now and cached[1] == epoch:
            return cached[2]
        with self._db.session() as conn:
            alive = trust_rows.existing(conn, list(ids)) == set(ids)
        with self._lock:
            if len(self._recheck) > 10_000:
                self._recheck.clear()
            self._recheck[ids] = (now + RECHECK_SECONDS, epoch, alive)
        return alive

    # --- exchange passwords -------------------------------------------------------

    def password_for(self, principal: Principal) -> tuple[str, int]:
        """A registry password for a principal signed in by ID token: (password, expiry).
        It ends with the ID token, or after an hour, whichever comes first."""
        now = int(time.time())
        ttl = max(1, min(EXCHANGE_TTL, (principal.expires_at or now) - now))
        claims = {**self.claims_for(principal), "typ": PASSWORD_TYPE}
        password, issued = self._signer.issue(principal.name, claims, [], ttl)
        return password, issued + ttl

    def _from_password(self, password: str) -> Principal:
        try:
            claims = self._signer.verify(password)
        except InvalidToken as error:
            raise OidcRefused(f"the exchanged password is invalid: {error}") from None
        principal = self.from_claims(claims) if claims.get("typ") == PASSWORD_TYPE else None
        if principal is None:
            raise OidcRefused("the exchanged password is no longer valid")
        ends = claims.get("exp")
        if isinstance(ends, int) and (principal.expires_at or ends) > ends:
            principal = dataclasses.replace(principal, expires_at=ends)
        return principal


def _issued_by(token: str) -> object:
    """The ``iss`` a JWT claims before any check (None for anything else)."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
