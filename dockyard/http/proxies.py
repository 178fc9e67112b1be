"""Believe ``X-Forwarded-For/-Proto/-Host`` only from the reverse proxies named in
``trusted_proxies``; from anyone else they are ignored, so a client can never choose
the address the lockout counts or the scheme the token realm uses."""

from __future__ import annotations

import ipaddress
import re

from starlette.types import ASGIApp, Receive, Scope, Send

_HOST = re.compile(rb"[A-Za-z0-9.\-:\[\]]{1,255}")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``10.0.0.1, 192.168.0.0/16, ::1`` as networks; a clear error for a typo."""
    networks = []
    for item in text.split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise ValueError(f"trusted_proxies: {item.strip()!r} is no IP or CIDR") from None
    return tuple(networks)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class ForwardedHeaders:
    """Rewrites the scope's client (and, without ``public_url``, its scheme and Host)
    from the forwarding headers, when the peer is a trusted proxy."""

    def __init__(self, app: ASGIApp, networks: tuple[Network, ...], use_host: bool) -> None:
        self.app = app
        self.networks = networks
        self.use_host = use_host  # False when public_url fixes scheme and host anyway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client and _trusted(client[0], self.networks):
            self._rewrite(scope)
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope) -> None:
        headers = dict(scope.get("headers", ()))
        chain = headers.get(b"x-forwarded-for", b"").decode("latin-1")
        hops = [hop.strip() for hop in chain.split(",") if hop.strip()]
        # The nearest hop not ours is the client; the ones left of it it could forge.
        for hop in reversed(hops):
            if not _trusted(hop, self.networks) or hop == hops[0]:
                try:
                    ipaddress.ip_address(hop)
                except ValueError:
                    break
                scope["client"] = (hop, 0)
                break
        if not self.use_host:
            return
        proto = headers.get(b"x-forwarded-proto", b"").split(b",")[0].strip().lower()
        if proto in (b"http", b"https"):
            scope["scheme"] = proto.decode()
        host = headers.get(b"x-forwarded-host", b"").split(b",")[0].strip()
        if host and _HOST.fullmatch(host):
            scope["headers"] = [
                (name, value) for name, value in scope["headers"] if name != b"host"
            ] + [(b"host", host)]
