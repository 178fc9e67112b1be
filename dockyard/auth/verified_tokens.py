"""Registry tokens this process has already verified, so each is signature-checked once.

A client sends the same bearer token with every request of a pull or push, and checking
it (header and payload parsing, an ES256 signature) cost more CPU than serving a blob
HEAD. So the claims of a token that verified are kept, under the SHA-256 of the token
string, until the token's ``exp``: never past it, so an expired token is refused even if
it was kept (the clock leeway then applies as before, through a fresh verification). A
token that fails verification is never kept. Each hit also asks the key ring whether the
signing key is still known, so a token stops working when its key goes, exactly as
before. At most ``CAPACITY`` tokens are kept; the oldest goes first.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from dockyard.auth.registry_tokens import TokenSigner

CAPACITY = 10_000
clock = time.time  # wall-clock seconds, as ``exp``; module-level so tests can move it


class VerifiedTokens:
    def __init__(self, signer: TokenSigner, capacity: int = CAPACITY) -> None:
        self._signer = signer
        self._capacity = capacity
        self._lock = threading.Lock()
        # sha256(token) -> (exp, kid, claims), oldest first
        self._kept: OrderedDict[bytes, tuple[float, str, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims if it is ours and valid now, else InvalidToken."""
        key = hashlib.sha256(token.encode()).digest()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None:
            expires, kid, claims = kept
            if clock() < expires and self._signer.knows(kid):
                return claims
            with self._lock:
                self._kept.pop(key, None)
        kid, claims = self._signer.verify_signed(token)  # raises InvalidToken
        expires = float(claims["exp"])
        if clock() < expires:
            with self._lock:
                self._kept[key] = (expires, kid, claims)
                while len(self._kept) > self._capacity:
                    self._kept.popitem(last=False)
        return claims
