"""Bearer tokens for the registry (Docker token auth): ES256 JWTs we issue and verify.

Signing keys are EC P-256 keys every replica reads from the database
(``dockyard.auth.keys``): the current one signs, and its ``kid`` goes into the JWT
header; verification picks the key by that ``kid``, so tokens signed before a rotation
stay valid while their key is kept. Verification accepts ES256 only, so neither
``none`` nor an HMAC "signed" with the public key can pass, and checks issuer,
audience, expiry and not-before with a minute of clock leeway.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

if TYPE_CHECKING:
    from dockyard.auth.keys import KeyRing

ALGORITHM = "ES256"
LEEWAY_SECONDS = 60


class InvalidToken(Exception):
    """The token is not one of ours, or no longer valid."""


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """libtrust-style key id: SHA-256 of the DER public key, 30 bytes, base32, colon-grouped."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


@dataclass(frozen=True)
class Grant:
    """One ``access`` entry of a token."""

    type: str
    name: str
    actions: tuple[str, ...]


class TokenSigner:
    """Signs with the ring's current key; verifies with whichever key the ``kid`` names."""

    def __init__(self, ring: KeyRing, issuer: str, service: str) -> None:
        self._ring = ring
        self._parsed: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.issuer = issuer
        self.service = service

    def _private(self, kid: str, pem: str) -> ec.EllipticCurvePrivateKey:
        private = self._parsed.get(kid)
        if private is None:
            loaded = serialization.load_pem_private_key(pem.encode(), password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError("the token signing key is not an EC key")
            private = self._parsed[kid] = loaded
        return private

    @property
    def kid(self) -> str:
        return self._ring.current().kid

    def issue(
        self, subject: str, claims: dict[str, Any], access: list[Grant], ttl: int
    ) -> tuple[str, int]:
        """A signed bearer token and its issue time."""
        now = int(time.time())
        key = self._ring.current()
        payload = {
            "iss": self.issuer,
            "aud": self.service,
            "sub": subject,
            "iat": now,
            "nbf": now - 5,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "access": [
                {"type": g.type, "name": g.name, "actions": list(g.actions)} for g in access
            ],
            **claims,
        }
        private = self._private(key.kid, key.secret)
        token = jwt.encode(payload, private, algorithm=ALGORITHM, headers={"kid": key.kid})
        return token, now

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token we issued and that is valid now, or InvalidToken."""
        return self.verify_signed(token)[1]

    def verify_signed(self, token: str) -> tuple[str, dict[str, Any]]:
        """``verify``, and the kid of the key that signed the token."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        key = self._ring.find(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("signed with a key this registry does not know (or no longer)")
        try:
            return key.kid, jwt.decode(
                token,
                self._private(key.kid, key.secret).public_key(),
                algorithms=[ALGORITHM],
                audience=self.service,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None

    def knows(self, kid: str) -> bool:
        """Whether the key ``kid`` still verifies (a token it signed may be used)."""
        return self._ring.find(kid) is not None
