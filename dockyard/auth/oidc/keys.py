"""Issuers' signing keys: discovery (``/.well-known/openid-configuration`` → ``jwks_uri``)
and a per-process JWKS cache.

Keys are kept ``ttl`` seconds. A token whose ``kid`` is not in the cached set makes us
fetch the set again (the issuer rotated its keys), but such fetches happen at most once
per ``min_refresh`` seconds per issuer, so tokens with invented kids cannot make us hammer
the issuer. An issuer that fails keeps its last good keys until it answers again.
Fetches have short timeouts, follow no redirects, and use https unless the issuer is one
an administrator listed explicitly (then its JWKS may live at the same http origin).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jwt

from dockyard.auth.oidc import OidcRefused

TIMEOUT_SECONDS, CONNECT_SECONDS = 5.0, 3.0
MAX_DOCUMENT = 256 * 1024
ALGORITHMS = ("RS256", "ES256")


@dataclass
class _Entry:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    loaded_at: float = float("-inf")  # monotonic time the keys were last loaded
    tried_at: float = float("-inf")  # the last fetch, good or bad
    forced_at: float = float("-inf")  # the last fetch an unknown kid caused
    lock: threading.Lock = field(default_factory=threading.Lock)  # one fetch at a time


class IssuerKeys:
    def __init__(self, ttl: float = 600.0, min_refresh: float = 30.0, retry: float = 5.0) -> None:
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._retry = retry
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def key(self, issuer: str, kid: str, plain_http: bool) -> jwt.PyJWK:
        """The issuer's key ``kid``, or OidcRefused (unknown key, issuer unreachable)."""
        with self._lock:
            entry = self._entries.setdefault(issuer, _Entry())
        with entry.lock:  # other issuers' tokens never wait for this one's fetch
            now = time.monotonic()
            if now - entry.loaded_at > self._ttl and now - entry.tried_at >= self._retry:
                self._refresh(entry, issuer, plain_http, now)
            elif kid not in entry.keys and now - entry.forced_at >= self._min_refresh:
                entry.forced_at = now  # a rotation at the issuer, or an invented kid
                self._refresh(entry, issuer, plain_http, now)
            found = entry.keys.get(kid)
        if found is None:
            raise OidcRefused(f"the token's key {kid[:80]!r} is not in the issuer's JWKS")
        return found

    @staticmethod
    def _refresh(entry: _Entry, issuer: str, plain_http: bool, now: float) -> None:
        """Load the keys again; if the issuer fails, keep the ones we have (if any)."""
        entry.tried_at = now
        try:
            entry.keys = _fetch_keys(issuer, plain_http)
            entry.loaded_at = now
        except OidcRefused:
            if not entry.keys:
                raise


def _fetch_keys(issuer: str, plain_http: bool) -> dict[str, jwt.PyJWK]:
    config = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", plain_http)
    if config.get("issuer") != issuer:
        raise OidcRefused("the issuer's openid-configuration names another issuer")
    jwks_uri = config.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise OidcRefused("the issuer's openid-configuration has no jwks_uri")
    try:
        same_origin = urlsplit(jwks_uri)[:2] == urlsplit(issuer)[:2]
    except ValueError:
        raise OidcRefused("the issuer's jwks_uri is not a URL") from None
    document = _get_json(jwks_uri, plain_http and same_origin)
    keys: dict[str, jwt.PyJWK] = {}
    for data in document.get("keys") or []:
        if not isinstance(data, dict) or not isinstance(data.get("kid"), str):
            continue
        if data.get("use", "sig") != "sig" or data.get("alg", "RS256") not in ALGORITHMS:
            continue
        try:
            keys[data["kid"]] = jwt.PyJWK(data)
        except jwt.PyJWTError:
            continue  # a key type we do not use; the others still count
    return keys


def _get_json(url: str, plain_http: bool) -> dict:
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme != "https" and not (scheme == "http" and plain_http):
        raise OidcRefused(f"the issuer's documents must be fetched over https, not {url[:100]}")
    import httpx  # here, not at the top: only an OIDC login needs it, and it is a big import

    try:
        timeout = httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_SECONDS)
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise OidcRefused(f"the issuer could not be reached ({type(error).__name__})") from None
    if response.status_code != 200 or len(response.content) > MAX_DOCUMENT:
        raise OidcRefused(f"the issuer answered {response.status_code} for {url[:100]}")
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise OidcRefused(f"the issuer sent no JSON object at {url[:100]}")
    return document
