"""The verified-token cache on its own: once per token, never past ``exp``, never an
invalid token, never a token whose key is gone, and never more than its capacity."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.auth import verified_tokens
from dockyard.auth.keys import Key, KeyRing, kid_of
from dockyard.auth.registry_tokens import InvalidToken, TokenSigner
from dockyard.auth.verified_tokens import VerifiedTokens


class CountingSigner(TokenSigner):
    """A real signer over keys the test holds, counting the signatures it checks."""

    def __init__(self) -> None:
        self.keys = [new_key()]
        self.ring = KeyRing(lambda: self.keys)
        super().__init__(self.ring, "dockyard", "dockyard")
        self.checked = 0

    def verify_signed(self, token: str) -> tuple[str, dict]:
        self.checked += 1
        return super().verify_signed(token)

    def token(self, ttl: int = 300) -> str:
        return self.issue("someone", {"kind": "anonymous"}, [], ttl)[0]


def new_key() -> Key:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return Key(kid_of("token", pem), pem, 1, None, None)


def test_a_token_is_verified_once_and_kept_until_its_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer = CountingSigner()
    cache = VerifiedTokens(signer)
    token = signer.token(ttl=300)
    first = cache.claims(token)
    assert all(cache.claims(token) == first for _ in range(50))
    assert signer.checked == 1
    monkeypatch.setattr(verified_tokens, "clock", lambda: first["exp"])  # the token's exp
    assert cache.claims(token) == first  # PyJWT's own clock still takes it: checked again
    assert signer.checked == 2
    assert len(cache) == 0  # and not kept: it is past its exp on our clock


def test_an_invalid_token_is_never_kept() -> None:
    signer = CountingSigner()
    cache = VerifiedTokens(signer)
    header, payload, signature = signer.token().split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    for _ in range(3):
        with pytest.raises(InvalidToken):
            cache.claims(tampered)
    assert signer.checked == 3 and len(cache) == 0
    already_expired = signer.token(ttl=-120)  # past exp and the clock leeway
    with pytest.raises(InvalidToken):
        cache.claims(already_expired)
    assert len(cache) == 0


def test_a_token_stops_working_when_its_key_is_gone() -> None:
    signer = CountingSigner()
    cache = VerifiedTokens(signer)
    token = signer.token()
    cache.claims(token)
    signer.keys = [new_key()]  # the operator replaced the key (e.g. signing_key_file)
    assert signer.ring.reload()  # what its next 30 s re-read finds
    with pytest.raises(InvalidToken):
        cache.claims(token)
    assert len(cache) == 0


def test_the_cache_is_bounded_and_drops_the_oldest_first() -> None:
    signer = CountingSigner()
    cache = VerifiedTokens(signer, capacity=3)
    tokens = [signer.token() for _ in range(5)]
    for token in tokens:
        cache.claims(token)
    assert len(cache) == 3 and signer.checked == 5
    cache.claims(tokens[-1])  # still kept
    assert signer.checked == 5
    cache.claims(tokens[0])  # dropped as the oldest: checked again
    assert signer.checked == 6 and len(cache) == 3
