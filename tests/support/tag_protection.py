"""Pushing and deleting as any principal (user, CI job, deploy token) through /v2, and
managing tag protection rules through /api/v1, for the tag protection tests."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

import httpx

from dockyard.admin import tokens as admin_tokens
from dockyard.auth.credentials import JOB_USERNAME
from tests.api.helpers import OCI_MANIFEST, auth, blob
from tests.support.auth_registry import AuthRegistry

SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"


@dataclass(frozen=True)
class Login:
    """Credentials /jwt/auth takes (a password or a token) and a REST token, if any."""

    name: str
    secret: str
    pat: str | None = None


def user(reg: AuthRegistry, project: str, role: str | None, admin: bool = False) -> Login:
    made = reg.new_user({project: role} if role else None, admin=admin)
    return Login(made.name, made.password, made.pat)


def job(reg: AuthRegistry, project: str, person: Login) -> Login:
    issued = admin_tokens.create_job(reg.db, project, person.name, 3600)
    return Login(JOB_USERNAME, issued.secret, issued.secret)


def deploy(reg: AuthRegistry, project: str) -> Login:
    name = f"ci{uuid.uuid4().hex[:8]}"
    issued = admin_tokens.create_deploy(reg.db, project, name, ["read_registry", "write_registry"])
    return Login(issued.username, issued.secret)


def admin(reg: AuthRegistry) -> Login:
    return Login("admin", reg.admin_pat, reg.admin_pat)


def image(reg: AuthRegistry, repository: str, seed: str, subject: str | None = None) -> bytes:
    """A manifest whose blobs the admin uploaded to the repository; not pushed yet. With
    ``subject`` (a pushed manifest's body), a signature that refers to it."""
    token = reg.token("admin", reg.admin_pat, f"repository:{repository}:pull,push")
    config = {"architecture": "amd64", "os": "linux", "seed": seed}
    manifest: dict = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            **blob(reg, repository, token, json.dumps(config).encode()),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                **blob(reg, repository, token, f"layer {seed}".encode()),
            }
        ],
    }
    if subject is not None:
        manifest["artifactType"] = SIGNATURE
        manifest["subject"] = {
            "mediaType": OCI_MANIFEST,
            "digest": digest(subject.encode()),
            "size": len(subject),
        }
    return json.dumps(manifest).encode()


def digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _bearer(reg: AuthRegistry, repository: str, login: Login, actions: str) -> dict[str, str]:
    return reg.bearer(reg.token(login.name, login.secret, f"repository:{repository}:{actions}"))


def put(
    reg: AuthRegistry, repository: str, reference: str, body: bytes, login: Login
) -> httpx.Response:
    return reg.client.put(
        f"/v2/{repository}/manifests/{reference}",
        content=body,
        headers={**_bearer(reg, repository, login, "pull,push"), "Content-Type": OCI_MANIFEST},
    )


def delete(reg: AuthRegistry, repository: str, reference: str, login: Login) -> httpx.Response:
    return reg.client.delete(
        f"/v2/{repository}/manifests/{reference}",
        headers=_bearer(reg, repository, login, "pull,delete"),
    )


def pointed(reg: AuthRegistry, repository: str, tag: str) -> str | None:
    """The digest the tag points at now (None: no such tag)."""
    resp = reg.client.head(
        f"/v2/{repository}/manifests/{tag}",
        headers={**_bearer(reg, repository, admin(reg), "pull"), "Accept": OCI_MANIFEST},
    )
    return resp.headers["docker-content-digest"] if resp.status_code == 200 else None


def rules_url(project: str) -> str:
    return f"/api/v1/projects/{project}/registry/protection/tag_rules"


def add_rule(
    reg: AuthRegistry, project: str, secret: str | None = None, **fields: object
) -> httpx.Response:
    return reg.client.post(rules_url(project), json=fields, headers=auth(secret or reg.admin_pat))


def protect(reg: AuthRegistry, project: str, **fields: object) -> int:
    """Add a rule as the admin; its id."""
    resp = add_rule(reg, project, **fields)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def denial(resp: httpx.Response) -> str:
    """The message of a /v2 403 DENIED."""
    assert resp.status_code == 403, resp.text
    (error,) = resp.json()["errors"]
    assert error["code"] == "DENIED", error
    return error["message"]
