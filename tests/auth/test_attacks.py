"""Attacks on the token flow and the registry: each is refused in the spec's format."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from dockyard.admin.accounts import find_user
from dockyard.auth.keys import token_ring, token_signer
from dockyard.auth.passwords import password_stamp
from dockyard.auth.registry_tokens import TokenSigner
from tests.support.auth_registry import AuthRegistry

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def assert_refused(resp, status: int = 401, code: str = "UNAUTHORIZED") -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["errors"][0]["code"] == code
    assert "Traceback" not in resp.text


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


@pytest.fixture
def developer(registry: AuthRegistry, project: str):
    return registry.new_user({project: "developer"})


def push_blob(registry: AuthRegistry, repository: str, token: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    resp = registry.client.post(
        f"/v2/{repository}/blobs/uploads/?digest={digest}",
        content=data,
        headers=registry.bearer(token),
    )
    assert resp.status_code == 201, resp.text
    return digest


def signer(registry: AuthRegistry) -> TokenSigner:
    return token_signer(registry.db, registry.settings)


def signing_pem(registry: AuthRegistry) -> bytes:
    """The current token signing key (kept in the database, shared by replicas)."""
    return token_ring(registry.db, registry.settings).current().secret.encode()


def forged(registry: AuthRegistry, repository: str, **changes) -> str:
    """A token with every claim right except ``changes``, signed with our real key."""
    s = signer(registry)
    payload = {
        "iss": s.issuer,
        "aud": s.service,
        "sub": "admin",
        "iat": int(time.time()),
        "nbf": int(time.time()) - 5,
        "exp": int(time.time()) + 300,
        "kind": "user",
        "uid": 1,
        "cid": None,
        "pw": password_stamp(find_user(registry.db, "admin").password_hash),
        "access": [{"type": "repository", "name": repository, "actions": ["pull", "push"]}],
    }
    payload.update(changes)
    pem = signing_pem(registry)
    key = serialization.load_pem_private_key(pem, password=None)
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": s.kid})


def get_tags(registry: AuthRegistry, repository: str, token: str):
    return registry.client.get(f"/v2/{repository}/tags/list", headers=registry.bearer(token))


def test_the_forgery_helper_itself_works(registry: AuthRegistry, project: str) -> None:
    token = forged(registry, f"{project}/img")
    push_blob(registry, f"{project}/img", token, b"proof")  # so the refusals below mean something


def test_wrong_password(registry: AuthRegistry, developer) -> None:
    resp = registry.token_response(developer.name, "not-the-password")
    assert_refused(resp)
    assert "password" not in resp.json()["errors"][0].get("detail", {})


def test_unknown_user_and_wrong_token(registry: AuthRegistry, developer) -> None:
    assert_refused(registry.token_response("nobody-here", "whatever-password"))
    assert_refused(registry.token_response(developer.name, "dy_pat_forged-secret"))
    other = registry.new_user()
    assert_refused(registry.token_response(other.name, developer.pat))  # someone else's PAT


def test_alg_none(registry: AuthRegistry, project: str) -> None:
    good = jwt.decode(forged(registry, project), options={"verify_signature": False})
    token = jwt.encode(good, None, algorithm="none")
    assert_refused(get_tags(registry, project, token))


def test_tampered_signature(registry: AuthRegistry, project: str) -> None:
    header, payload, signature = forged(registry, f"{project}/x").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["access"][0]["actions"] = ["pull", "push", "delete"]
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_refused(get_tags(registry, project, f"{header}.{tampered}.{signature}"))
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_refused(get_tags(registry, project, f"{header}.{payload}.{flipped}"))


def test_hmac_signed_with_the_public_key(registry: AuthRegistry, project: str) -> None:
    pem = signing_pem(registry)
    public = serialization.load_pem_private_key(pem, password=None).public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(forged(registry, project), options={"verify_signature": False})
    import hmac

    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    mac = hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
    token = b".".join([header, body, base64.urlsafe_b64encode(mac).rstrip(b"=")]).decode()
    assert_refused(get_tags(registry, project, token))


def test_expired_token(registry: AuthRegistry, project: str) -> None:
    old = int(time.time()) - 3600
    token = forged(registry, project, iat=old, nbf=old, exp=old + 300)
    assert_refused(get_tags(registry, project, token))


def test_other_audience_and_issuer(registry: AuthRegistry, project: str) -> None:
    assert_refused(get_tags(registry, project, forged(registry, project, aud="other-registry")))
    assert_refused(get_tags(registry, project, forged(registry, project, iss="someone-else")))


def test_token_for_repository_a_used_on_b(registry: AuthRegistry, developer, project: str) -> None:
    token = registry.token(developer.name, developer.pat, f"repository:{project}/a:pull,push")
    push_blob(registry, f"{project}/a", token, b"allowed")
    data = b"not here"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    resp = registry.client.post(
        f"/v2/{project}/b/blobs/uploads/?digest={digest}",
        content=data,
        headers=registry.bearer(token),
    )
    assert_refused(resp)
    assert 'scope="repository:' + project + '/b:pull,push"' in resp.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in resp.headers["www-authenticate"]


def test_asking_for_star_grants_only_what_the_role_allows(
    registry: AuthRegistry, developer, project: str
) -> None:
    token = registry.token(developer.name, developer.pat, f"repository:{project}/img:*")
    access = jwt.decode(token, options={"verify_signature": False})["access"]
    assert access == [{"type": "repository", "name": f"{project}/img", "actions": ["pull", "push"]}]
    resp = registry.client.delete(
        f"/v2/{project}/img/manifests/latest", headers=registry.bearer(token)
    )
    assert_refused(resp, 403, "DENIED")  # signed in: told why, not asked to log in again
    message = f"project {project} does not exist or you cannot delete from it"
    assert resp.json()["errors"][0]["message"] == message


def test_forged_access_for_an_unknown_principal(registry: AuthRegistry, project: str) -> None:
    token = forged(registry, project, uid=999_999)
    assert_refused(get_tags(registry, project, token))


def test_mount_from_an_unreadable_source(registry: AuthRegistry, project: str) -> None:
    secret_project = registry.new_project("private")
    owner = registry.new_user({secret_project: "developer"})
    intruder = registry.new_user({project: "developer"})
    owner_token = registry.token(
        owner.name, owner.pat, f"repository:{secret_project}/img:push,pull"
    )
    digest = push_blob(registry, f"{secret_project}/img", owner_token, b"secret layer bytes")
    token = registry.token(
        intruder.name,
        intruder.pat,
        f"repository:{project}/img:pull,push",
        f"repository:{secret_project}/img:pull",
    )
    for query in (f"mount={digest}&from={secret_project}/img", f"mount={digest}"):
        resp = registry.client.post(
            f"/v2/{project}/img/blobs/uploads/?{query}", headers=registry.bearer(token)
        )
        assert resp.status_code == 202, resp.text  # a fresh session, not the blob
    head = registry.client.head(f"/v2/{project}/img/blobs/{digest}", headers=registry.bearer(token))
    assert head.status_code == 404


def test_mount_from_a_readable_source(registry: AuthRegistry, developer, project: str) -> None:
    token = registry.token(
        developer.name,
        developer.pat,
        f"repository:{project}/src:pull,push",
        f"repository:{project}/dst:pull,push",
    )
    digest = push_blob(registry, f"{project}/src", token, b"shared layer")
    resp = registry.client.post(
        f"/v2/{project}/dst/blobs/uploads/?mount={digest}&from={project}/src",
        headers=registry.bearer(token),
    )
    assert resp.status_code == 201, resp.text


def test_another_users_upload_session(registry: AuthRegistry, project: str) -> None:
    alice = registry.new_user({project: "developer"})
    bob = registry.new_user({project: "maintainer"})
    scope = f"repository:{project}/img:pull,push"
    alice_token = registry.token(alice.name, alice.pat, scope)
    started = registry.client.post(
        f"/v2/{project}/img/blobs/uploads/", headers=registry.bearer(alice_token)
    )
    assert started.status_code == 202
    location = started.headers["location"]
    bob_token = registry.token(bob.name, bob.pat, scope)
    for method in ("GET", "PATCH", "DELETE"):
        resp = registry.client.request(method, location, headers=registry.bearer(bob_token))
        assert_refused(resp, 404, "BLOB_UPLOAD_UNKNOWN")
    data = b"alice's bytes"
    resp = registry.client.put(
        location + "?digest=sha256:" + hashlib.sha256(data).hexdigest(),
        content=data,
        headers=registry.bearer(alice_token),
    )
    assert resp.status_code == 201, resp.text


def test_anonymous_catalog_shows_nothing_private(
    registry: AuthRegistry, developer, project: str
) -> None:
    token = registry.token(developer.name, developer.pat, f"repository:{project}/img:pull,push")
    push_blob(registry, f"{project}/img", token, b"private bytes")
    registry.new_project("public")  # so anonymous callers get the catalog grant at all
    anonymous = registry.token(None, None, "registry:catalog:*")
    resp = registry.client.get("/v2/_catalog", headers=registry.bearer(anonymous))
    assert resp.status_code == 200
    assert f"{project}/img" not in resp.json()["repositories"]
    assert registry.client.get("/v2/_catalog").status_code == 401


def test_no_credentials_at_all(registry: AuthRegistry, project: str) -> None:
    resp = registry.client.get(f"/v2/{project}/tags/list")
    assert_refused(resp)
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="http://testserver/jwt/auth",service="dockyard"')
    assert f'scope="repository:{project}:pull"' in challenge
    base = registry.client.get("/v2/")
    assert_refused(base)
    assert "scope=" not in base.headers["www-authenticate"]
    assert base.headers["docker-distribution-api-version"] == "registry/2.0"


def test_a_refresh_token_is_not_an_access_token(
    registry: AuthRegistry, developer, project: str
) -> None:
    resp = registry.token_response(developer.name, developer.password, offline_token="true")
    refresh = resp.json()["refresh_token"]
    assert_refused(get_tags(registry, project, refresh))


def test_grants_in_forged_tokens_for_catalog_need_the_registry_type(
    registry: AuthRegistry, project: str
) -> None:
    token = forged(
        registry, project, access=[{"type": "repository", "name": "catalog", "actions": ["*"]}]
    )
    assert_refused(registry.client.get("/v2/_catalog", headers=registry.bearer(token)))


def test_signer_never_issues_for_other_services(registry: AuthRegistry) -> None:
    resp = registry.token_response(None, None, service_override="x")
    assert resp.status_code == 200  # unknown parameters are ignored
    bad = registry.client.get("/jwt/auth", params={"service": "someone-else"})
    assert_refused(bad, 400, "DENIED")


def test_mount_needs_pull_in_the_token_not_just_the_users_rights(
    registry: AuthRegistry, developer, project: str
) -> None:
    """The developer may pull the source, but this token was not issued for it."""
    src_token = registry.token(developer.name, developer.pat, f"repository:{project}/src:pull,push")
    digest = push_blob(registry, f"{project}/src", src_token, b"layer only src has")
    narrow = registry.token(developer.name, developer.pat, f"repository:{project}/dst:pull,push")
    for query in (f"mount={digest}&from={project}/src", f"mount={digest}"):
        resp = registry.client.post(
            f"/v2/{project}/dst/blobs/uploads/?{query}", headers=registry.bearer(narrow)
        )
        assert resp.status_code == 202, (query, resp.text)  # a fresh session instead
    head = registry.client.head(
        f"/v2/{project}/dst/blobs/{digest}", headers=registry.bearer(narrow)
    )
    assert head.status_code == 404
    wide = registry.token(
        developer.name,
        developer.pat,
        f"repository:{project}/dst:pull,push",
        f"repository:{project}/src:pull",
    )
    resp = registry.client.post(
        f"/v2/{project}/dst/blobs/uploads/?mount={digest}", headers=registry.bearer(wide)
    )
    assert resp.status_code == 201, resp.text  # automatic mount from a granted repository


def test_basic_auth_mounts_follow_the_users_rights(
    registry: AuthRegistry, developer, project: str
) -> None:
    token = registry.token(developer.name, developer.pat, f"repository:{project}/bsrc:pull,push")
    digest = push_blob(registry, f"{project}/bsrc", token, b"layer for basic mount")
    resp = registry.client.post(
        f"/v2/{project}/bdst/blobs/uploads/?mount={digest}&from={project}/bsrc",
        headers=registry.basic(developer.name, developer.password),
    )
    assert resp.status_code == 201, resp.text
