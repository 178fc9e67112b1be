"""X-Dockyard-Signature: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

The time is inside the signed text, so a receiver that checks it is recent rejects a
replayed request even though the signature itself is valid."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(secret: str, body: bytes, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """What a receiver does (docs/webhooks.md): same MAC, and sent within ``tolerance`` s."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, t), f"t={t},v1={parts.get('v1', '')}")
