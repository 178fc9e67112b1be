"""The whole permission table, through the real token flow.

role (anonymous, a signed-in non-member, Guest … Owner, admin) × visibility ×
action (pull, push, delete, catalog) × where the role comes from (the project itself,
or a group two levels up). Every case asks /jwt/auth for exactly the scope a client
would, then makes the registry request with the token it got.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass

import pytest

from tests.support.auth_registry import AuthRegistry, User

ROLES = ["anonymous", "nonmember", "guest", "reporter", "developer", "maintainer", "owner", "admin"]
VISIBILITIES = ["private", "internal", "public"]
ACTIONS = ["pull", "push", "delete", "catalog"]
RANK = {"guest": 1, "reporter": 2, "developer": 3, "maintainer": 4, "owner": 5}
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def expected(role: str, visibility: str, action: str) -> bool:
    """The table from docs/permissions.md, written independently of dockyard.auth.policy."""
    if role == "admin":
        return True
    rank = RANK.get(role, 0)
    if action in ("pull", "catalog"):
        if visibility == "public":
            return True
        if visibility == "internal":
            return role != "anonymous"
        return rank >= RANK["reporter"]
    if action == "push":
        return rank >= RANK["developer"]
    return rank >= RANK["maintainer"]


@dataclass
class World:
    repos: dict[tuple[str, str], str]  # (via, visibility) -> repository
    users: dict[tuple[str, str], User]  # (via, role) -> user
    seeds: dict[str, bytes]  # repository -> the manifest tagged 'seed'


def _push_seed(registry: AuthRegistry, repository: str) -> bytes:
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull,push")
    headers = registry.bearer(token)
    blobs = {}
    for data in (b"{}", b"layer " + repository.encode()):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        resp = registry.client.post(
            f"/v2/{repository}/blobs/uploads/?digest={digest}", content=data, headers=headers
        )
        assert resp.status_code == 201, resp.text
        blobs[digest] = len(data)
    (config, config_size), (layer, layer_size) = blobs.items()
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config,
                "size": config_size,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer,
                    "size": layer_size,
                }
            ],
        }
    ).encode()
    resp = registry.client.put(
        f"/v2/{repository}/manifests/seed",
        content=body,
        headers={**headers, "Content-Type": MANIFEST},
    )
    assert resp.status_code == 201, resp.text
    return body


@pytest.fixture(scope="module")
def world(registry: AuthRegistry) -> World:
    repos: dict[tuple[str, str], str] = {}
    users: dict[tuple[str, str], User] = {}
    seeds: dict[str, bytes] = {}
    for via in ("project", "group"):
        top = f"m{uuid.uuid4().hex[:8]}"
        registry.new_project(group=top)  # creates the group
        from dockyard.admin import accounts

        accounts.create_group(registry.db, f"{top}/sub")
        projects = {}
        for visibility in VISIBILITIES:
            path = f"{top}/sub/{visibility}"
            accounts.create_project(registry.db, path, visibility)
            projects[visibility] = path
            repos[(via, visibility)] = f"{path}/img"
            seeds[repos[(via, visibility)]] = _push_seed(registry, repos[(via, visibility)])
        for role in ROLES:
            if role == "anonymous":
                continue
            if role == "admin":
                users[(via, role)] = registry.new_user(admin=True)
            elif role == "nonmember":
                users[(via, role)] = registry.new_user()
            elif via == "project":
                users[(via, role)] = registry.new_user({p: role for p in projects.values()})
            else:
                users[(via, role)] = registry.new_user({top: role})
    return World(repos, users, seeds)


def _credentials(world: World, via: str, role: str) -> tuple[str | None, str | None]:
    if role == "anonymous":
        return None, None
    user = world.users[(via, role)]
    return user.name, user.pat


def _attempt(
    registry: AuthRegistry, world: World, via: str, role: str, visibility: str, action: str
) -> bool:
    repository = world.repos[(via, visibility)]
    username, secret = _credentials(world, via, role)
    if action == "catalog":
        token = registry.token(username, secret, "registry:catalog:*")
        resp = registry.client.get("/v2/_catalog?n=1000", headers=registry.bearer(token))
        assert resp.status_code == 200, resp.text
        return repository in resp.json()["repositories"]
    if action == "pull":
        token = registry.token(username, secret, f"repository:{repository}:pull")
        resp = registry.client.get(
            f"/v2/{repository}/manifests/seed",
            headers={**registry.bearer(token), "Accept": MANIFEST},
        )
        if resp.status_code == 200:
            assert resp.content == world.seeds[repository]
    elif action == "push":
        token = registry.token(username, secret, f"repository:{repository}:pull,push")
        data = os.urandom(64)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        resp = registry.client.post(
            f"/v2/{repository}/blobs/uploads/?digest={digest}",
            content=data,
            headers=registry.bearer(token),
        )
    else:
        tag = f"victim-{uuid.uuid4().hex[:6]}"
        admin = registry.token("admin", registry.admin_pat, f"repository:{repository}:push,pull")
        put = registry.client.put(
            f"/v2/{repository}/manifests/{tag}",
            content=world.seeds[repository],
            headers={**registry.bearer(admin), "Content-Type": MANIFEST},
        )
        assert put.status_code == 201, put.text
        token = registry.token(username, secret, f"repository:{repository}:delete")
        resp = registry.client.delete(
            f"/v2/{repository}/manifests/{tag}", headers=registry.bearer(token)
        )
    if resp.status_code in (200, 201, 202):
        return True
    if role == "anonymous":  # asked to log in
        assert resp.status_code == 401, resp.text
        assert resp.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert resp.headers["www-authenticate"].startswith("Bearer realm=")
        return False
    # Signed in but not allowed: told why, without learning whether a hidden project exists.
    assert resp.status_code == 403, resp.text
    error = resp.json()["errors"][0]
    assert error["code"] == "DENIED"
    verb = {"pull": "pull from", "push": "push to", "delete": "delete from"}[action]
    shown = repository.rsplit("/", 1)[0] if expected(role, visibility, "pull") else repository
    assert error["message"] == f"project {shown} does not exist or you cannot {verb} it"
    return False


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("visibility", VISIBILITIES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("via", ["project", "group"])
def test_permission_matrix(
    registry: AuthRegistry, world: World, via: str, role: str, visibility: str, action: str
) -> None:
    allowed = _attempt(registry, world, via, role, visibility, action)
    assert allowed is expected(role, visibility, action), (
        f"{role} ({via} membership) {action} on a {visibility} project: "
        f"got {'allowed' if allowed else 'refused'}"
    )


@pytest.mark.parametrize("role", ["reporter", "developer", "maintainer"])
def test_passwords_give_the_same_rights_as_api_tokens(
    registry: AuthRegistry, world: World, role: str
) -> None:
    """The matrix uses api-scoped tokens for speed; a password must grant exactly the same."""
    user = world.users[("group", role)]
    repository = world.repos[("group", "private")]
    scope = f"repository:{repository}:pull,push,delete"
    by_password = registry.token_response(user.name, user.password, scope).json()
    by_token = registry.token_response(user.name, user.pat, scope).json()
    import jwt

    claims = [
        jwt.decode(r["token"], options={"verify_signature": False}) for r in (by_password, by_token)
    ]
    assert claims[0]["access"] == claims[1]["access"]
    granted = set(claims[0]["access"][0]["actions"]) if claims[0]["access"] else set()
    assert granted == {a for a in ("pull", "push", "delete") if expected(role, "private", a)}
