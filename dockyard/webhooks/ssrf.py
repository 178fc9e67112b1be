"""Where a hook may send: public addresses only, unless an admin allows a host or a
network (``webhook_allowed_hosts``). The name is resolved once and the request goes to
that address, so a DNS answer that changes between the check and the connect (DNS
rebinding) cannot send it elsewhere."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(ValueError):
    """The URL is malformed, does not resolve, or reaches a non-public address."""


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        hosts, networks = set(), []
        for item in (i.strip().lower() for i in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: Address) -> bool:
        return host in self.hosts or any(address in n for n in self.networks)


@dataclass(frozen=True)
class Resolved:
    scheme: str
    host: str  # as in the URL, lower case: the Host header and TLS server name
    port: int
    address: Address

    def pinned_url(self, url: str) -> str:
        """``url`` with its host replaced by the address it was checked against."""
        parts = urlsplit(url)
        ip = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = f"{ip}:{self.port}"
        return parts._replace(netloc=netloc).geturl()

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )


def split(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an http(s) URL, or Refused saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise Refused(f"the URL is not valid: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username or parts.password:
        raise Refused("the URL may not carry credentials; use the secret to sign instead")
    return (
        parts.scheme,
        parts.hostname.lower().rstrip("."),
        port or (443 if parts.scheme == "https" else 80),
    )


def resolve(url: str, allow: AllowList) -> Resolved:
    """The address to connect to, if every address the host resolves to is public or
    allowed; Refused otherwise (with the reason, for a 400 or the delivery log)."""
    scheme, host, port = split(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise Refused(f"the host {host} does not resolve: {error.strerror or error}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not _public(address) and not allow.allows(host, address):
            raise Refused(
                f"the host {host} resolves to {address}, which is not a public address; "
                "an administrator can allow it with webhook_allowed_hosts"
            )
    return Resolved(scheme, host, port, addresses[0])
