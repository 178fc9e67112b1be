"""Who is asking: a person, a deploy token, a CI job (by job token or OIDC ID token), or
nobody."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # "anonymous" | "user" | "deploy" | "job" | "oidc" | "scanner"
    name: str = ""  # username, deploy token username, the CI username, or the OIDC subject
    user_id: int | None = None  # the person (for jobs: who started the job)
    is_admin: bool = False
    scopes: frozenset[str] | None = None  # token scopes; None for a password (no narrowing)
    credential_id: int | None = None  # the token row, so revocation takes effect
    project_id: int | None = None  # the project a job or project deploy token is bound to
    namespace_path: str | None = None  # the group a group deploy token covers
    issuer: str | None = None  # OIDC: the issuer of the ID token
    # OIDC: (trust id, project id, role level) of every trust the ID token matched
    trusts: tuple[tuple[int, int, int], ...] = ()
    expires_at: int | None = None  # OIDC: when the ID token (so this login) ends, Unix time

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def credential_kind(self) -> str | None:
        """password | personal | deploy | job | oidc; None for anonymous callers."""
        if self.is_anonymous:
            return None
        if self.kind == "user":
            return "password" if self.credential_id is None else "personal"
        return self.kind

    @property
    def actor(self) -> str:
        """How the audit log names the caller: tokens by kind and id, e.g.
        ``deploy_token:12 (deploy-k8s)``, so a token's chosen name never passes for a user."""
        if self.is_anonymous:
            return "anonymous"
        if self.kind == "oidc":  # the token itself is never kept; who it named is
            return f"oidc:{self.name} ({self.issuer})"
        if self.credential_id is None:
            return self.name
        return f"{self.credential_kind}_token:{self.credential_id} ({self.name})"

    @property
    def key(self) -> str:
        """Stable identity for binding upload sessions and audit lines."""
        if self.is_anonymous or self.kind == "scanner":
            return self.kind
        if self.credential_id is not None:
            return f"{self.kind}:{self.credential_id}"
        if self.kind == "oidc":  # issuer and subject may be long; the column is not
            digest = hashlib.sha256(f"{self.issuer}#{self.name}".encode()).hexdigest()
            return f"oidc:{digest[:40]}"
        return f"user:{self.user_id}"


ANONYMOUS = Principal(kind="anonymous")
# The external scanner adapter pulling an image it was asked to scan: no person's rights,
# only the one repository its short-lived token names.
SCANNER = Principal(kind="scanner", name="dockyard-scanner")
