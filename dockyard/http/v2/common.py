"""What every /v2 handler shares: the wiring, name parsing, paging and body intake."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from dockyard.admin.tag_protection import TagProtection
from dockyard.admin.vuln_policy import PullPolicies
from dockyard.config import Settings
from dockyard.http.access import AccessPolicy
from dockyard.oci.errors import Code, RegistryError
from dockyard.oci.names import check_name
from dockyard.registry import Registry
from dockyard.registry.uploads import Receiver

T = TypeVar("T")
REMOTE_BATCH = 1024 * 1024
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    registry: Registry
    access: AccessPolicy
    settings: Settings
    inline_reads: bool = False
    policies: PullPolicies | None = None  # vulnerability policies that may refuse a pull
    protection: TagProtection | None = None  # tag protection rules a push or delete meets
    remote_store: bool = False  # the blob store is across the network (S3)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """A short metadata read. On SQLite it runs inline: the local query costs less
        than a hop to a worker thread, and WAL readers never wait for writers."""
        if self.inline_reads:
            return fn(*args)
        return await run_in_threadpool(fn, *args)

    async def storage(self, fn: Callable[..., T], *args: Any) -> T:
        """A call that touches the blob store: inline for a local store (cheap, as
        before), in the threadpool for a remote one, which must not stall the loop."""
        if self.remote_store:
            return await run_in_threadpool(fn, *args)
        return fn(*args)


async def run(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking work (database, disk) off the event loop."""
    return await run_in_threadpool(fn, *args)


def repository(request: Request) -> str:
    return check_name(request.path_params["name"])


def page(request: Request, cap: int) -> tuple[int, str | None]:
    """The ``n`` and ``last`` of a listing; ``n`` defaults to and is capped at ``cap``."""
    raw = request.query_params.get("n")
    if raw is None or raw == "":
        n = cap
    elif raw.isascii() and raw.isdigit():  # not "²", which isdigit() also accepts
        n = cap if len(raw) > 18 else min(int(raw), cap)
    else:
        raise RegistryError(
            Code.UNSUPPORTED, "n must be a non-negative integer", {"n": raw[:50]}, status=400
        )
    return n, request.query_params.get("last")


def next_link(path: str, n: int, last: str) -> dict[str, str]:
    return {"Link": f'<{path}?n={n}&last={quote(last, safe="")}>; rel="next"'}


def declared_length(request: Request) -> int | None:
    """The Content-Length header as a number; None without one (chunked bodies).

    A server in front normally refuses a bad header itself; this covers the rest.
    """
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    digits = raw.strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        detail = {"contentLength": raw[:50]}
        raise RegistryError(Code.SIZE_INVALID, "invalid Content-Length", detail)
    return int(digits)


def _length_mismatch(promised: int | None, received: int, where: str) -> RegistryError:
    return RegistryError(
        Code.SIZE_INVALID,
        f"the body length does not match {where}",
        {"expected": promised, "received": received},
    )


async def body(request: Request) -> AsyncIterator[bytes]:
    """The request body in chunks; SIZE_INVALID if it ends short of its Content-Length.

    A body ends short when the client goes away half-way: one quiet log line, no trace.
    """
    length = declared_length(request)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            yield chunk
    except ClientDisconnect:
        log.info(
            "client left during %s %s after %d of %s bytes",
            request.method,
            request.url.path,
            received,
            "?" if length is None else length,
        )
        raise _length_mismatch(length, received, "Content-Length") from None
    if length is not None and received != length:
        raise _length_mismatch(length, received, "Content-Length")


async def receive(
    request: Request, receiver: Receiver, expected: int | None, durable: bool = True
) -> int:
    """Stream the body into an upload; all of it lands, or none of it does. New size.

    ``expected`` is the length Content-Range promised. A failed request (a short body
    included) leaves the session as it was. ``durable=False`` when a finish follows.
    A remote store's writes (network calls) run off the event loop, a batch at a time;
    a local store's are cheap enough to run inline.
    """
    batch = _Batch(receiver)
    try:  # the receiver holds the session from its creation: every exit must release it
        length = declared_length(request)
        if expected is not None and length is not None and expected != length:
            raise _length_mismatch(expected, length, "Content-Range")
        receiver.expect(length)  # a body that cannot fit the storage limit is not read
        async for chunk in body(request):
            if expected is not None and batch.seen + len(chunk) > expected:
                raise _length_mismatch(expected, batch.seen + len(chunk), "Content-Range")
            if chunk:
                await batch.add(chunk)
        await batch.flush()
        if expected is not None and receiver.received != expected:
            raise _length_mismatch(expected, receiver.received, "Content-Range")
    except BaseException:
        await run(receiver.fail)
        raise
    return await run(receiver.close, durable)


class _Batch:
    """Hands body chunks to a receiver: inline for local stores, in batches of
    REMOTE_BATCH through the threadpool for remote ones (one hop per batch, not per chunk)."""

    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self._pending: list[bytes] = []
        self._size = 0
        self.seen = 0

    async def add(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        if not self._receiver.remote:
            self._receiver.write(chunk)
            return
        self._pending.append(chunk)
        self._size += len(chunk)
        if self._size >= REMOTE_BATCH:
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending, self._size = [], 0
            await run(self._receiver.write, data)
