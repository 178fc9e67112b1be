"""/jwt/auth: the Docker token service (GET) and its OAuth2 form (POST).

A caller gets a token for exactly the actions it has: asking for more is not an
error, the grant just shrinks. No scope at all (``docker login``) only checks the
credentials. Anonymous callers get what public projects allow.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from dockyard.auth.policy import ALL
from dockyard.auth.principal import ANONYMOUS, Principal
from dockyard.auth.registry_tokens import Grant, InvalidToken
from dockyard.auth.scopes import Scope, parse_scopes
from dockyard.http.access import TokenAccess, client_address, decode_basic
from dockyard.http.requestlog import record_principal
from dockyard.oci.errors import Code, RegistryError


class TokenEndpoint:
    def __init__(self, access: TokenAccess) -> None:
        self.access = access
        self.settings = access.settings

    async def get(self, request: Request) -> JSONResponse:
        params = request.query_params
        self._check_service(params.get("service"))
        principal = ANONYMOUS
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic" and value:
            username, password = decode_basic(value.strip())
            principal = await self._login(request, username, password)
        offline = params.get("offline_token", "").lower() == "true"
        return await self._respond(principal, parse_scopes(params.getlist("scope")), offline)

    async def post(self, request: Request) -> JSONResponse:
        """OAuth2 (containerd, newer Docker): grant_type password or refresh_token."""
        form = await request.form()
        self._check_service(str(form.get("service", "")) or None)
        grant = form.get("grant_type")
        if grant == "password":
            principal = await self._login(
                request, str(form.get("username", "")), str(form.get("password", ""))
            )
            offline = form.get("access_type") == "offline"
        elif grant == "refresh_token":
            principal = await self._refresh(str(form.get("refresh_token", "")))
            record_principal(request.scope, principal)
            offline = True
        else:
            raise RegistryError(
                Code.UNSUPPORTED, "grant_type must be password or refresh_token", status=400
            )
        scopes = parse_scopes(str(s) for s in form.getlist("scope"))
        return await self._respond(principal, scopes, offline)

    def _check_service(self, service: str | None) -> None:
        if service is not None and service != self.settings.token_service:
            raise RegistryError(Code.DENIED, f"unknown service {service[:100]!r}", status=400)

    async def _login(self, request: Request, username: str, password: str) -> Principal:
        service = self.access.service
        principal = await run_in_threadpool(
            service.login, username, password, client_address(request)
        )
        record_principal(request.scope, principal)
        return principal

    async def _refresh(self, token: str) -> Principal:
        try:
            claims = self.access.signer.verify(token)
        except InvalidToken:
            claims = {}
        principal = None
        if claims.get("typ") == "refresh":
            principal = await run_in_threadpool(self.access.service.from_claims, claims)
        if principal is None or principal.is_anonymous:
            raise RegistryError(Code.UNAUTHORIZED, "invalid refresh token")
        return principal

    def _grants(self, principal: Principal, scopes: list[Scope]) -> list[Grant]:
        grants: dict[tuple[str, str], set[str]] = {}
        for scope in scopes:
            if scope.type == "registry":
                if scope.name == "catalog" and self.access.service.may_list_catalog(principal):
                    grants.setdefault(("registry", "catalog"), set()).add("*")
                continue
            wanted = ALL if "*" in scope.actions else scope.actions
            allowed = wanted & self.access.service.actions(principal, scope.name)
            if allowed:
                grants.setdefault(("repository", scope.name), set()).update(allowed)
        return [Grant(t, n, tuple(sorted(a))) for (t, n), a in grants.items()]

    async def _respond(
        self, principal: Principal, scopes: list[Scope], offline: bool
    ) -> JSONResponse:
        grants = await run_in_threadpool(self._grants, principal, scopes)
        pushes = any("push" in g.actions for g in grants)
        ttl = self.settings.push_token_ttl_seconds if pushes else self.settings.token_ttl_seconds
        if principal.expires_at is not None:  # an OIDC login ends with its ID token
            ttl = max(1, min(ttl, principal.expires_at - int(time.time())))
        claims = self.access.service.claims_for(principal)
        token, issued = self.access.signer.issue(principal.name, claims, grants, ttl)
        body: dict[str, object] = {
            "token": token,
            "access_token": token,
            "expires_in": ttl,
            "issued_at": datetime.fromtimestamp(issued, UTC).isoformat().replace("+00:00", "Z"),
        }
        if offline and not principal.is_anonymous and principal.expires_at is None:
            body["refresh_token"], _ = self.access.signer.issue(
                principal.name,
                {**claims, "typ": "refresh"},
                [],
                self.settings.refresh_token_ttl_seconds,
            )
        return JSONResponse(body, headers={"Cache-Control": "no-store"})
