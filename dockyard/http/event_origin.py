"""Who caused an event and the host clients pull from, as webhooks report them."""

from __future__ import annotations

from starlette.requests import Request

from dockyard.auth.principal import Principal
from dockyard.config import Settings
from dockyard.webhooks.events import Origin


def registry_host(request: Request, settings: Settings) -> str:
    """``public_url``'s host when set, else the Host the client used (as the UI shows)."""
    if settings.public_url:
        return settings.public_url.split("://")[-1].rstrip("/")
    return request.headers.get("host", settings.listen)


def origin(request: Request, settings: Settings, principal: Principal) -> Origin:
    """The actor is a user name or a token's kind and name; never a secret."""
    kind = principal.credential_kind or principal.kind
    return Origin(principal.name or principal.kind, kind, registry_host(request, settings))
