"""Registry tokens for measuring Dockyard with token auth on, got the way docker gets them.

The admin gets a personal access token from the CLI (so /jwt/auth costs no Argon2), each
repository's group and project are created through the REST API the first time it is
named, and every request carries a bearer token from /jwt/auth for the repositories it
touches: fetched once per set of repositories and reused until shortly before it expires,
as a client reuses it. Distribution and Dockyard with auth off get no header at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import httpx

ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway server's admin
RENEW_SECONDS = 30  # ask for a new token this long before the old one expires


class Credentials:
    def __init__(self, url: str, env: dict[str, str]) -> None:
        self._url = url
        self._env = env
        self._lock = threading.Lock()
        self._secret: str | None = None
        self._namespaces: set[str] = set()
        self._projects: set[str] = set()
        self._tokens: dict[tuple[tuple[str, ...], bool], tuple[float, str]] = {}

    def headers(self, repositories: tuple[str, ...], catalog: bool = False) -> dict[str, str]:
        """``Authorization: Bearer`` for pull and push on ``repositories`` (and the
        catalog); the projects are made first, so the token grants what it asks."""
        key = (tuple(sorted(repositories)), catalog)
        with self._lock:
            renew_at, token = self._tokens.get(key, (0.0, ""))
            if time.monotonic() >= renew_at:
                for repository in key[0]:
                    self._ensure_project(repository)
                renew_at, token = self._token(key[0], catalog)
                self._tokens[key] = (renew_at, token)
        return {"Authorization": f"Bearer {token}"}

    def _admin_secret(self) -> str:
        if self._secret is None:
            out = subprocess.run(
                [sys.executable, "-m", "dockyard", "token", "create", "personal"]
                + ["--user", "admin", "--name", "bench", "-o", "json"]
                + ["--scope", "api", "--scope", "read_registry", "--scope", "write_registry"],
                env=self._env,
                capture_output=True,
                text=True,
                check=True,
            )
            found = json.loads(out.stdout)
            self._secret = (found[0] if isinstance(found, list) else found)["token"]
        return self._secret

    def _ensure_project(self, repository: str) -> None:
        if repository in self._projects:
            return
        namespace = repository.rpartition("/")[0]
        if namespace not in self._namespaces:
            self._create("groups", namespace)
            self._namespaces.add(namespace)
        self._create("projects", repository)
        self._projects.add(repository)

    def _create(self, kind: str, path: str) -> None:
        resp = httpx.post(
            f"{self._url}/api/v1/{kind}",
            json={"path": path},
            headers={"Authorization": f"Bearer {self._admin_secret()}"},
            timeout=30,
        )
        assert resp.status_code in (201, 409), f"creating {kind[:-1]} {path}: {resp.text}"

    def _token(self, repositories: tuple[str, ...], catalog: bool) -> tuple[float, str]:
        scopes = [f"repository:{name}:pull,push" for name in repositories]
        scopes += ["registry:catalog:*"] if catalog else []
        resp = httpx.get(
            f"{self._url}/jwt/auth",
            params=[("service", "dockyard"), *(("scope", s) for s in scopes)],
            auth=("admin", self._admin_secret()),
            timeout=30,
        )
        assert resp.status_code == 200, f"/jwt/auth: {resp.status_code} {resp.text}"
        body = resp.json()
        return time.monotonic() + body["expires_in"] - RENEW_SECONDS, body["token"]
