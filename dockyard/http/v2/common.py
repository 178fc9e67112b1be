"""What every /v2 handler shares: the wiring, name parsing, paging and body intake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from dockyard.config import Settings
from dockyard.http.access import AccessPolicy
from dockyard.oci.errors import Code, RegistryError
from dockyard.oci.names import check_name
from dockyard.registry import Registry
from dockyard.registry.uploads import Receiver
from dockyard.validation import InvalidInput, parse_int

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    registry: Registry
    access: AccessPolicy
    settings: Settings
    inline_reads: bool = False

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """A short metadata read. On SQLite it runs inline: the local query costs less
        than a hop to a worker thread, and WAL readers never wait for writers."""
        if self.inline_reads:
            return fn(*args)
        return await run_in_threadpool(fn, *args)


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
    else:
        try:
            n = min(parse_int(raw, 0, 10**18, "n"), cap)
        except InvalidInput:
            raise RegistryError(
                Code.UNSUPPORTED, "n must be a non-negative integer", {"n": raw[:50]}, status=400
            ) from None
    return n, request.query_params.get("last")


def next_link(path: str, n: int, last: str) -> dict[str, str]:
    return {"Link": f'<{path}?n={n}&last={quote(last, safe="")}>; rel="next"'}


async def receive(
    request: Request, receiver: Receiver, expected: int | None, durable: bool = True
) -> int:
    """Stream the body into an upload; all of it lands, or none of it does. New size.

    ``durable=False`` when the upload is finished right after (its commit syncs).
    """
    try:
        async for chunk in request.stream():
            if chunk:
                receiver.write(chunk)
        if expected is not None and receiver.received != expected:
            raise RegistryError(
                Code.SIZE_INVALID,
                "the body length does not match Content-Range",
                {"expected": expected, "received": receiver.received},
            )
    except BaseException:
        await run(receiver.fail)
        raise
    return await run(receiver.close, durable)
