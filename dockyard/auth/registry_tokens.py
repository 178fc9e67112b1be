"""Bearer tokens for the registry (Docker token auth): ES256 JWTs we issue and verify.

The signing key is an EC P-256 key created on first start (file mode 0600). Replicas
share it by sharing the file. Verification accepts ES256 only, so neither ``none``
nor an HMAC "signed" with the public key can pass, and checks issuer, audience,
expiry and not-before with a minute of clock leeway.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

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
    def __init__(self, key_path: Path, issuer: str, service: str) -> None:
        pem = key_path.read_bytes()
        self._private = serialization.load_pem_private_key(pem, password=None)
        self._public = self._private.public_key()
        self.kid = key_id(self._public)
        self.issuer = issuer
        self.service = service

    def issue(
        self, subject: str, claims: dict[str, Any], access: list[Grant], ttl: int
    ) -> tuple[str, int]:
        """A signed bearer token and its issue time."""
        now = int(time.time())
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
        token = jwt.encode(payload, self._private, algorithm=ALGORITHM, headers={"kid": self.kid})
        return token, now

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token we issued and that is valid now, or InvalidToken."""
        try:
            return jwt.decode(
                token,
                self._public,
                algorithms=[ALGORITHM],
                audience=self.service,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
