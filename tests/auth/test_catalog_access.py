"""Who may list the catalog, and exactly which repositories each caller sees."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import jwt

from dockyard.admin import accounts
from tests.support.auth_registry import AuthRegistry


def seed(registry: AuthRegistry, repository: str) -> None:
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull,push")
    data = repository.encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    resp = registry.client.post(
        f"/v2/{repository}/blobs/uploads/?digest={digest}",
        content=data,
        headers=registry.bearer(token),
    )
    assert resp.status_code == 201, resp.text


def catalog_grant(registry: AuthRegistry, username: str | None, secret: str | None) -> list:
    token = registry.token(username, secret, "registry:catalog:*")
    return jwt.decode(token, options={"verify_signature": False})["access"]


def catalog(registry: AuthRegistry, username: str | None, secret: str | None):
    token = registry.token(username, secret, "registry:catalog:*")
    return registry.client.get("/v2/_catalog", headers=registry.bearer(token))


def test_each_caller_sees_exactly_what_it_may_pull(
    make_auth_registry: Callable[..., AuthRegistry], backend: str
) -> None:
    registry = make_auth_registry(backend)
    accounts.create_group(registry.db, "acme")
    for name in ("alpha", "beta"):
        accounts.create_project(registry.db, f"acme/{name}", "private")
        seed(registry, f"acme/{name}/img")
    alice = registry.new_user({"acme/alpha": "reporter"})

    # No public project: an anonymous caller could see nothing, so gets no grant.
    assert catalog_grant(registry, None, None) == []
    assert catalog(registry, None, None).status_code == 401
    assert registry.token_response(None, None, "registry:other:*").json()["token"]
    assert catalog_grant(registry, None, None) == []

    accounts.create_project(registry.db, "acme/pub", "public")
    seed(registry, "acme/pub/img")
    everything = catalog_grant(registry, None, None)
    assert everything == [{"type": "registry", "name": "catalog", "actions": ["*"]}]
    seen = {
        "anonymous": catalog(registry, None, None).json()["repositories"],
        "alice": catalog(registry, alice.name, alice.pat).json()["repositories"],
        "admin": catalog(registry, "admin", registry.admin_pat).json()["repositories"],
    }
    assert seen == {
        "anonymous": ["acme/pub/img"],
        "alice": ["acme/alpha/img", "acme/pub/img"],
        "admin": ["acme/alpha/img", "acme/beta/img", "acme/pub/img"],
    }


def test_only_the_catalog_is_a_registry_grant(registry: AuthRegistry) -> None:
    user = registry.new_user()
    token = registry.token(user.name, user.pat, "registry:anything:*")
    assert jwt.decode(token, options={"verify_signature": False})["access"] == []
