"""Which issuers may be trusted at all (``oidc_allowed_issuers``).

An empty list allows any ``https`` issuer. A non-empty list allows only the issuers on
it, compared after dropping a trailing slash. ``http`` is refused unless the issuer is
listed explicitly (a test issuer on loopback, a lab)."""

from __future__ import annotations

from urllib.parse import urlsplit

from dockyard.config import Settings
from dockyard.validation import InvalidInput


def allowed_issuers(settings: Settings) -> frozenset[str]:
    return frozenset(
        i.strip().rstrip("/") for i in settings.oidc_allowed_issuers.split(",") if i.strip()
    )


def issuer_refusal(issuer: str, settings: Settings) -> str | None:
    """Why ``issuer`` may not be trusted here, or None when it may."""
    not_url = f"issuer {issuer[:100]!r} is not a URL like https://token.example.com"
    if len(issuer) > 255 or not issuer.isprintable():
        return not_url
    try:
        parts = urlsplit(issuer)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return not_url
    if not parts.netloc or parts.query or parts.fragment or parts.username:
        return not_url
    listed = allowed_issuers(settings)
    if listed and issuer.rstrip("/") not in listed:
        return (
            f"issuer {issuer[:100]!r} is not allowed on this registry; an administrator "
            "lists the issuers projects may trust in oidc_allowed_issuers"
        )
    if parts.scheme != "https" and issuer.rstrip("/") not in listed:
        return f"issuer {issuer[:100]!r} must use https"
    return None


def check_issuer(issuer: str, settings: Settings) -> str:
    reason = issuer_refusal(issuer, settings)
    if reason is not None:
        raise InvalidInput(reason)
    return issuer


def plain_http_allowed(issuer: str, settings: Settings) -> bool:
    """Whether ``issuer`` (and its JWKS) may be fetched over http: listed explicitly."""
    return issuer.rstrip("/") in allowed_issuers(settings)
