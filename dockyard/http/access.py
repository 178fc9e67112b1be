"""The access seam: every /v2 request names the repository and actions it needs.

Today only the open policy exists (``auth: none``); the token policy slots in here
without touching a handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from dockyard.config import Settings


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking; ``name`` None means anonymous."""

    name: str | None = None


ANONYMOUS = Principal()


class AccessPolicy(Protocol):
    async def authorize(
        self, request: Request, repository: str | None, actions: frozenset[str]
    ) -> Principal:
        """The caller, if allowed ``actions`` on ``repository``; else UNAUTHORIZED/DENIED."""

    def may_read(self, principal: Principal, repository: str) -> bool:
        """Whether the caller could pull from ``repository`` (used for blob mounts)."""


class OpenAccess:
    """Everyone may do everything: a local sandbox, or a registry behind another gate."""

    async def authorize(
        self, request: Request, repository: str | None, actions: frozenset[str]
    ) -> Principal:
        return ANONYMOUS

    def may_read(self, principal: Principal, repository: str) -> bool:
        return True


def open_access(settings: Settings) -> AccessPolicy:
    match settings.auth:
        case "none":
            return OpenAccess()
        case other:
            raise ValueError(f"unknown auth mode {other!r} (known: none)")


PULL = frozenset({"pull"})
PUSH = frozenset({"pull", "push"})
DELETE = frozenset({"delete"})
CATALOG = frozenset({"catalog"})
