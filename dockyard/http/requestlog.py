"""The outermost layer: a request id for every response, one log line per request,
the request metrics, and a last line of defence against unhandled errors.

The log line names the path only (never the query string, headers or body), so
credentials sent in ``?token=``, ``Authorization`` or forms never reach the log.
Handlers tell this layer who the caller was (``record_principal``) and why a
request was refused (``record_denial``) through ``scope["state"]``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import re
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.auth.principal import Principal
from dockyard.http import metrics
from dockyard.http.logformat import REQUEST_ID, kv

log = logging.getLogger("dockyard.access")
errors = logging.getLogger("dockyard.http")
HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:+/=-]{1,128}")
_KINDS = {"password": "password", "personal": "personal_token", "deploy": "deploy_token"}
_BODY_METHODS = frozenset({"PUT", "PATCH", "POST"})
# Ids need to be unique, not secret: 64 random bits per process and a counter (a
# getrandom() call per request cost more than the rest of this layer).
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count()


def record_principal(scope: Scope, principal: Principal, kind: str = "") -> None:
    """Tell the request log who this request authenticated as (``kind`` overrides the
    credential kind, e.g. ``session`` for the web UI's cookie)."""
    state = scope.setdefault("state", {})
    state["dockyard.principal"] = principal
    if kind:
        state["dockyard.kind"] = kind


def record_denial(scope: Scope, reason: str) -> None:
    """Tell the request log why a request was answered 401 or 403."""
    scope.setdefault("state", {})["dockyard.denial"] = reason


def current_request_id() -> str:
    return REQUEST_ID.get()


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            if _SANE_ID.fullmatch(value):
                return value.decode()
            break
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


def _reseed() -> None:
    """A forked child draws its own prefix, so it never repeats its parent's ids."""
    global _ID_PREFIX
    _ID_PREFIX = os.urandom(8).hex()


os.register_at_fork(after_in_child=_reseed)


def _who(principal: Principal | None) -> tuple[str, str]:
    if principal is None or principal.is_anonymous:
        return "", "anonymous"
    kind = principal.credential_kind or "anonymous"
    return principal.name, _KINDS.get(kind, f"{kind}_token")


class _Exchange:
    """One request's counters: status, bytes sent and received; adds X-Request-Id."""

    def __init__(self, send: Send, receive: Receive, request_id: str) -> None:
        self._send, self._receive = send, receive
        self.request_id = request_id
        self.status = self.sent = self.received = self._length = 0

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            headers = [*message.get("headers", []), (HEADER, self.request_id.encode())]
            message["headers"] = headers
            for name, value in headers:
                if name.lower() == b"content-length" and value.isdigit():
                    self._length = int(value)
        elif kind == "http.response.body":
            self.sent += len(message.get("body", b""))
        elif kind in ("http.response.pathsend", "http.response.zerocopy"):
            self.sent += self._length  # the server sends the file itself
        await self._send(message)

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
        return message


class RequestLog:
    """Request id, access log line, metrics and the generic 500 for escaped errors."""

    def __init__(self, app: ASGIApp, on_done: Callable[[], None] | None = None) -> None:
        self.app = app
        self.on_done = on_done  # e.g. sample the database pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        root_path = scope.get("root_path", "")
        state = scope.setdefault("state", {})
        exchange = _Exchange(send, receive, request_id)
        counts_body = scope["method"] in _BODY_METHODS and scope["path"].startswith("/v2/")
        try:
            await self.app(scope, exchange.receive if counts_body else receive, exchange.send)
        except Exception:
            errors.exception("unhandled error on %s %s", scope["method"], kv(scope["path"]))
            if exchange.status == 0:
                with contextlib.suppress(Exception):  # the client may be gone already
                    await _internal_error(exchange.send, request_id)
        finally:
            seconds = time.perf_counter() - started
            route = metrics.route_template(scope, root_path)
            status = exchange.status or 500  # no response at all: the client saw an error
            metrics.observe(
                route, scope["method"], status, seconds, exchange.received, exchange.sent
            )
            if self.on_done is not None:
                self.on_done()
            self._log(scope, state, status, exchange.sent, seconds, request_id)
            REQUEST_ID.reset(token)

    @staticmethod
    def _log(
        scope: Scope, state: dict, status: int, sent: int, seconds: float, request_id: str
    ) -> None:
        user, kind = _who(state.get("dockyard.principal"))
        kind = state.get("dockyard.kind", kind)
        client = scope.get("client")
        fields: dict[str, object] = {
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "bytes": sent,
            "duration_ms": round(seconds * 1000, 1),
            "user": user,
            "kind": kind,
            "remote": client[0] if client else "",
            "request_id": request_id,
        }
        if status in (401, 403):
            fields["reason"] = state.get("dockyard.denial", "")
        level = logging.ERROR if status >= 500 else logging.INFO
        if scope["path"] in ("/-/health", "/-/ready"):
            # probes every few seconds would drown the log; a failing one is worth a look
            level = logging.DEBUG if status < 400 else logging.WARNING
        if log.isEnabledFor(level):
            log.log(level, "request", extra={"fields": fields})


async def _internal_error(send: Send, request_id: str) -> None:
    body = json.dumps(internal_error_body(request_id)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def internal_error_body(request_id: str) -> dict:
    """The registry error shape, naming nothing internal but the id to quote to us."""
    message = f"internal server error (request id {request_id})"
    detail = {"request_id": request_id}
    return {"errors": [{"code": "UNKNOWN", "message": message, "detail": detail}]}
