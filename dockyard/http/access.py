"""The access seam: every /v2 request names the repository and the actions it needs.

``OpenAccess`` lets everyone do everything (``auth: none``). ``TokenAccess`` is the
Docker token flow: a Bearer token from /jwt/auth (or HTTP Basic, for clients that
send it) must cover the repository and actions, else 401 with a challenge telling
the client where to get one, or 403 when the credentials are simply not enough.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Callable
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from dockyard.auth.principal import ANONYMOUS, Principal
from dockyard.auth.registry_tokens import InvalidToken, TokenSigner
from dockyard.auth.service import AccessService
from dockyard.auth.verified_tokens import VerifiedTokens
from dockyard.config import Settings
from dockyard.http.requestlog import record_principal
from dockyard.oci.errors import Code, RegistryError

PULL = frozenset({"pull"})
PUSH = frozenset({"pull", "push"})
DELETE = frozenset({"delete"})
CATALOG = frozenset({"catalog"})
BASIC_CACHE_SECONDS = 10.0
_CLAIMS = "dockyard.token_claims"  # the verified bearer token of this request


class AccessPolicy(Protocol):
    async def authorize(
        self, request: Request, repository: str | None, actions: frozenset[str]
    ) -> Principal:
        """The caller, if allowed ``actions`` on ``repository``; else UNAUTHORIZED/DENIED."""

    def may_read(self, request: Request, principal: Principal, repository: str) -> bool:
        """Whether the caller may pull from ``repository`` (blob mounts): a bearer token's
        own grants, or the user's rights for Basic credentials. Runs in a worker thread."""

    async def readable(self, principal: Principal) -> Callable[[str], bool]:
        """Which repositories the caller may see in the catalog."""

    async def audit(self, request: Request, principal: Principal, action: str, target: str) -> None:
        """Record a push or delete."""


class OpenAccess:
    """Everyone may do everything: a local sandbox, or a registry behind another gate."""

    async def authorize(
        self, request: Request, repository: str | None, actions: frozenset[str]
    ) -> Principal:
        return ANONYMOUS

    def may_read(self, request: Request, principal: Principal, repository: str) -> bool:
        return True

    async def readable(self, principal: Principal) -> Callable[[str], bool]:
        return lambda _name: True

    async def audit(self, request: Request, principal: Principal, action: str, target: str) -> None:
        return None


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def base_url(request: Request, settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


class TokenAccess:
    """The hot path (a token verified before, its holder re-checked lately, the epoch read
    within a quarter second; or a cached Basic login) runs on the event loop without I/O;
    only what needs the database goes to a worker thread."""

    def __init__(self, service: AccessService, signer: TokenSigner, settings: Settings) -> None:
        self.service = service
        self.signer = signer
        self.settings = settings
        self.verified = VerifiedTokens(signer)
        self._basic: dict[str, tuple[float, int, Principal]] = {}

    def _challenge(
        self, request: Request, repository: str | None, actions: frozenset[str], error: str = ""
    ) -> RegistryError:
        realm = f"{base_url(request, self.settings)}/jwt/auth"
        header = f'Bearer realm="{realm}",service="{self.settings.token_service}"'
        if repository is not None and actions:
            header += f',scope="repository:{repository}:{",".join(sorted(actions))}"'
        elif actions == CATALOG:
            header += ',scope="registry:catalog:*"'
        if error:
            header += f',error="{error}"'
        return RegistryError(
            Code.UNAUTHORIZED,
            "authentication required",
            {"repository": repository, "actions": sorted(actions)} if actions else None,
            headers={"WWW-Authenticate": header},
        )

    async def authorize(
        self, request: Request, repository: str | None, actions: frozenset[str]
    ) -> Principal:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value:
            return await self._bearer(request, value.strip(), repository, actions)
        if scheme.lower() == "basic" and value:
            return await self._basic_auth(request, value.strip(), repository, actions)
        raise self._challenge(request, repository, actions)

    async def _bearer(
        self, request: Request, token: str, repository: str | None, actions: frozenset[str]
    ) -> Principal:
        try:
            claims = self.verified.claims(token)
        except InvalidToken:
            raise self._challenge(request, repository, actions, "invalid_token") from None
        if claims.get("typ") is not None:  # a refresh token or an OIDC exchange password
            raise self._challenge(request, repository, actions, "invalid_token")
        known, principal = self.service.cached_principal(claims)
        if not known:
            principal = await run_in_threadpool(self.service.from_claims, claims)
        if principal is None:
            raise self._challenge(request, repository, actions, "invalid_token")
        record_principal(request.scope, principal)
        if not actions <= _granted(claims, repository, actions):
            raise await self._refuse(request, principal, repository, actions)
        request.scope[_CLAIMS] = claims
        return principal

    async def _refuse(
        self,
        request: Request,
        principal: Principal,
        repository: str | None,
        actions: frozenset[str],
    ) -> RegistryError:
        """401 when a new token could help (anonymous, or rights the token did not ask
        for); 403 with the reason when the signed-in caller simply may not."""
        if principal.is_anonymous or repository is None:
            return self._challenge(request, repository, actions, "insufficient_scope")
        reason = await run_in_threadpool(self.service.refusal, principal, repository, actions)
        if reason is None:
            return self._challenge(request, repository, actions, "insufficient_scope")
        return _denied(repository, actions, reason)

    async def _basic_auth(
        self, request: Request, value: str, repository: str | None, actions: frozenset[str]
    ) -> Principal:
        username, password = decode_basic(value)
        key = hashlib.sha256(value.encode()).hexdigest()
        principal = self._cached_login(key, self.service.fresh_epoch())
        if principal is None:
            principal = await run_in_threadpool(self._basic_login, key, username, password, request)
        record_principal(request.scope, principal)
        if repository is not None and actions:
            reason = await run_in_threadpool(self.service.refusal, principal, repository, actions)
            if reason is not None:
                raise _denied(repository, actions, reason)
        return principal

    def _cached_login(self, key: str, epoch: int | None) -> Principal | None:
        """The cached Basic login under ``key`` while it is recent and from ``epoch``."""
        cached = self._basic.get(key)
        if epoch is not None and cached and cached[0] > time.monotonic() and cached[1] == epoch:
            return cached[2]
        return None

    def _basic_login(self, key: str, username: str, password: str, request: Request) -> Principal:
        """Argon2 once per credential and cache window; a cached login is used only while
        the credentials epoch is unchanged, so a password change, block or revocation ends
        it on the next request in this process and within ``epoch.MAX_AGE_SECONDS`` in
        the others."""
        epoch = self.service.auth_epoch()
        cached = self._cached_login(key, epoch)
        if cached is not None:
            return cached
        principal = self.service.login(username, password, client_address(request))
        if len(self._basic) > 1000:
            self._basic.clear()
        self._basic[key] = (time.monotonic() + BASIC_CACHE_SECONDS, epoch, principal)
        return principal

    def may_read(self, request: Request, principal: Principal, repository: str) -> bool:
        claims = request.scope.get(_CLAIMS)
        if claims is not None:  # only what the token grants, never recomputed from the user
            return "pull" in _granted(claims, repository, PULL)
        return "pull" in self.service.actions(principal, repository)

    async def readable(self, principal: Principal) -> Callable[[str], bool]:
        return await run_in_threadpool(self.service.readable, principal)

    async def audit(self, request: Request, principal: Principal, action: str, target: str) -> None:
        await run_in_threadpool(
            self.service.audit, principal, action, target, client_address(request)
        )


def _denied(repository: str, actions: frozenset[str], reason: str) -> RegistryError:
    return RegistryError(
        Code.DENIED, reason, {"repository": repository, "actions": sorted(actions)}
    )


def _granted(claims: dict, repository: str | None, actions: frozenset[str]) -> frozenset[str]:
    """The actions the token's ``access`` claim grants for what this request touches."""
    if repository is None and actions != CATALOG:
        return frozenset()  # the version check needs no access entry
    wanted_type, wanted_name = (
        ("registry", "catalog") if repository is None else ("repository", repository)
    )
    granted: set[str] = set()
    for entry in claims.get("access") or []:
        if (
            isinstance(entry, dict)
            and entry.get("type") == wanted_type
            and (entry.get("name") == wanted_name)
        ):
            granted.update(a for a in entry.get("actions") or [] if isinstance(a, str))
    if wanted_type == "registry" and "*" in granted:
        return CATALOG
    return frozenset(granted)


def decode_basic(value: str) -> tuple[str, str]:
    try:
        username, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        sep = ""
    if not sep:
        raise RegistryError(Code.UNAUTHORIZED, "malformed Basic credentials")
    return username, password
