"""Keyless CI login: a CI job's OIDC ID token, from an issuer a project trusts, stands in
for a password (``docker login -u oidc -p "$ID_TOKEN"``) or is exchanged for a short-lived
registry password. Modules: ``claims`` (trust patterns), ``issuers`` (which issuers may be
trusted), ``keys`` (discovery and the JWKS cache), ``verifier`` (the token's signature and
claims), ``login`` (tokens to principals and exchange passwords)."""

from __future__ import annotations


class OidcRefused(Exception):
    """An ID token that gives no access; the message says why, for the CI job's log."""
