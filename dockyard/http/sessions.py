"""Starlette's signed session cookie, signed with the web session keys every replica
shares (``dockyard.auth.keys``), so a sign-in on one replica works on all of them.

The current key signs; every kept key verifies (itsdangerous tries each, newest last
signs). A cookie none of them verifies makes this process re-read the keys once (at
most once a second): another replica may have rotated a moment ago.
"""

from __future__ import annotations

from typing import Any

import itsdangerous
from itsdangerous.exc import BadSignature
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.auth.keys import KeyRing


class SharedKeySessions(SessionMiddleware):
    def __init__(self, app: ASGIApp, ring: KeyRing, **options: Any) -> None:
        super().__init__(app, secret_key="unused: replaced by the shared keys", **options)
        self._ring = ring
        self._secrets: tuple[str, ...] = ()

    def _sync(self) -> None:
        secrets = tuple(key.secret for key in reversed(self._ring.keys()))  # current last
        if secrets != self._secrets:
            self.signer = itsdangerous.TimestampSigner(list(secrets))
            self._secrets = secrets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self._sync()
            cookie = HTTPConnection(scope).cookies.get(self.session_cookie)
            if cookie and not self._verifies(cookie) and self._ring.reload():
                self._sync()
        await super().__call__(scope, receive, send)

    def _verifies(self, cookie: str) -> bool:
        try:
            self.signer.unsign(cookie.encode(), max_age=self.max_age)
        except BadSignature:
            return False
        return True
