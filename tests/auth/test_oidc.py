"""Keyless CI login against a real local issuer (its own keys and JWKS endpoint): trusts
are managed over REST, ID tokens log in at /jwt/auth and with Basic on /v2, are exchanged
for registry passwords, and every kind of bad token is refused with 401 and a reason."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from dockyard.db.queries import tokens as token_rows
from tests.api.helpers import auth, push_image
from tests.support.auth_registry import AuthRegistry
from tests.support.oidc_issuer import TestIssuer
from tests.support.tag_protection import Login, denial, image, protect, put

AUDIENCE = "https://registry.example.test"


@pytest.fixture(scope="module")
def issuer() -> Iterator[TestIssuer]:
    server = TestIssuer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def rotating() -> Iterator[TestIssuer]:
    """An issuer of its own for the rotation test: refreshes that other tests' invented
    kids caused must not rate-limit the one a rotation needs."""
    server = TestIssuer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def reg(
    backend: str,
    issuer: TestIssuer,
    rotating: TestIssuer,
    make_auth_registry: Callable[..., AuthRegistry],
) -> AuthRegistry:
    allowed = f"https://other.example, {issuer.url}, {rotating.url}/"
    return make_auth_registry(backend, oidc_allowed_issuers=allowed)


def trust(
    reg: AuthRegistry,
    project: str,
    issuer: TestIssuer,
    role: str = "developer",
    audience: str = AUDIENCE,
    **claims: str,
) -> dict:
    body = {
        "issuer": issuer.url,
        "audience": audience,
        "claims": claims or {"repository": "acme/app", "ref": "refs/heads/main"},
        "role": role,
    }
    resp = reg.client.post(
        f"/api/v1/projects/{project}/oidc_trust", json=body, headers=auth(reg.admin_pat)
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def granted(reg: AuthRegistry, secret: str, repository: str) -> list[str]:
    resp = reg.token_response("oidc", secret, f"repository:{repository}:pull,push,delete")
    assert resp.status_code == 200, resp.text
    access = jwt.decode(resp.json()["token"], options={"verify_signature": False})["access"]
    return sorted(a for entry in access for a in entry["actions"])


def refusal(reg: AuthRegistry, token: str) -> str:
    resp = reg.token_response("oidc", token, "repository:x/y:pull")
    assert resp.status_code == 401, resp.text
    return resp.json()["errors"][0]["message"]


# --- managing trusts ---------------------------------------------------------------------


def test_maintainers_manage_trusts_and_others_may_not(reg: AuthRegistry, issuer: TestIssuer):
    project = reg.new_project()
    made = trust(reg, project, issuer, "reporter", repository="acme/*")
    assert made["role"] == "reporter" and made["claims"] == {"repository": "acme/*"}
    assert made["project"] == project and made["issuer"] == issuer.url
    listed = reg.client.get(f"/api/v1/projects/{project}/oidc_trust", headers=auth(reg.admin_pat))
    assert [t["id"] for t in listed.json()] == [made["id"]]

    maintainer = reg.new_user({project: "maintainer"})
    developer = reg.new_user({project: "developer"})
    path = f"/api/v1/projects/{project}/oidc_trust"
    assert reg.client.get(path, headers=auth(maintainer.pat)).status_code == 200
    assert reg.client.get(path, headers=auth(developer.pat)).status_code == 403
    body = {"issuer": issuer.url, "audience": "a", "claims": {"sub": "x"}, "role": "developer"}
    assert reg.client.post(path, json=body, headers=auth(developer.pat)).status_code == 403
    assert reg.client.post(path, json=body, headers=auth(maintainer.pat)).status_code == 201

    one = reg.client.delete(f"{path}/{made['id']}", headers=auth(maintainer.pat))
    assert one.status_code == 204
    again = reg.client.delete(f"{path}/{made['id']}", headers=auth(maintainer.pat))
    assert again.status_code == 404
    assert reg.client.delete(path, headers=auth(maintainer.pat)).status_code == 204
    assert reg.client.get(path, headers=auth(maintainer.pat)).json() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"issuer": "https://evil.example"}, "not allowed on this registry"),
        ({"issuer": "ftp//nope"}, "is not a URL"),
        ({"claims": {}}, "name at least one claim"),
        ({"claims": {"repository": "*"}}, "only wildcards"),
        ({"claims": {"aud": "x"}}, "checked by the trust itself"),
    ],
)
def test_bad_trusts_are_refused_with_400(
    reg: AuthRegistry, issuer: TestIssuer, change: dict, message: str
):
    project = reg.new_project()
    body = {"issuer": issuer.url, "audience": AUDIENCE, "claims": {"sub": "x"}, "role": "reporter"}
    resp = reg.client.post(
        f"/api/v1/projects/{project}/oidc_trust",
        json={**body, **change},
        headers=auth(reg.admin_pat),
    )
    assert resp.status_code == 400, resp.text
    assert message in resp.json()["error"]["message"]


def test_role_is_reporter_or_developer(reg: AuthRegistry, issuer: TestIssuer):
    project = reg.new_project()
    body = {"issuer": issuer.url, "audience": AUDIENCE, "claims": {"sub": "x"}, "role": "owner"}
    resp = reg.client.post(
        f"/api/v1/projects/{project}/oidc_trust", json=body, headers=auth(reg.admin_pat)
    )
    assert resp.status_code == 422


def test_without_an_allow_list_only_https_issuers(
    backend: str, issuer: TestIssuer, make_auth_registry: Callable[..., AuthRegistry]
):
    open_reg = make_auth_registry(backend)
    project = open_reg.new_project()
    path = f"/api/v1/projects/{project}/oidc_trust"
    body = {"issuer": issuer.url, "audience": AUDIENCE, "claims": {"sub": "x"}, "role": "reporter"}
    resp = open_reg.client.post(path, json=body, headers=auth(open_reg.admin_pat))
    assert resp.status_code == 400 and "must use https" in resp.json()["error"]["message"]
    body["issuer"] = "https://gitlab.example.com"
    resp = open_reg.client.post(path, json=body, headers=auth(open_reg.admin_pat))
    assert resp.status_code == 201


# --- logging in --------------------------------------------------------------------------


def test_roles_give_pull_or_push_in_the_trusting_projects_only(
    reg: AuthRegistry, issuer: TestIssuer
):
    pulls, pushes, elsewhere = reg.new_project(), reg.new_project(), reg.new_project()
    trust(reg, pulls, issuer, "reporter")
    trust(reg, pushes, issuer, "developer", repository="acme/*", ref="refs/heads/*")
    token = issuer.token(AUDIENCE)
    assert granted(reg, token, f"{pulls}/app") == ["pull"]
    assert granted(reg, token, f"{pushes}/app") == ["pull", "push"]
    assert granted(reg, token, f"{elsewhere}/app") == []

    pushed = push_image(reg, f"{pulls}/app", "v1", layers=[b"oidc layer"])
    resp = reg.token_response("oidc", token, f"repository:{pulls}/app:pull")
    bearer = reg.bearer(resp.json()["token"])
    got = reg.client.get(f"/v2/{pulls}/app/manifests/v1", headers=bearer)
    assert got.status_code == 200 and got.content == pushed.body

    resp = reg.token_response("oidc", token, f"repository:{pushes}/app:pull,push")
    data = b"pushed by a CI job"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    put = reg.client.post(
        f"/v2/{pushes}/app/blobs/uploads/?digest={digest}",
        content=data,
        headers=reg.bearer(resp.json()["token"]),
    )
    assert put.status_code == 201, put.text
    # the bearer token never outlives the ID token
    assert resp.json()["expires_in"] <= 300


def test_basic_auth_on_v2_with_the_id_token(reg: AuthRegistry, issuer: TestIssuer):
    project, other = reg.new_project(), reg.new_project()
    trust(reg, project, issuer, "reporter")
    pushed = push_image(reg, f"{project}/app", "v1", layers=[b"basic layer"])
    basic = reg.basic("oidc", issuer.token(AUDIENCE))
    got = reg.client.get(f"/v2/{project}/app/manifests/v1", headers=basic)
    assert got.status_code == 200 and got.content == pushed.body
    assert reg.client.get(f"/v2/{other}/app/manifests/v1", headers=basic).status_code == 403
    pushing = reg.client.post(f"/v2/{project}/app/blobs/uploads/", headers=basic)
    assert pushing.status_code == 403


def test_login_is_audited_with_issuer_and_subject(reg: AuthRegistry, issuer: TestIssuer):
    project = reg.new_project()
    trust(reg, project, issuer, "reporter")
    token = issuer.token(AUDIENCE, sub="repo:acme/app:audited")
    assert reg.token_response("oidc", token).status_code == 200
    with reg.db.session() as conn:
        events = token_rows.audit_credentials(conn, 20)
    assert (f"oidc:repo:acme/app:audited ({issuer.url})", "login", "oidc", None) in events
    with reg.db.session() as conn:
        lines = token_rows.audit_events(conn, 50)
    assert not any(token in " ".join(line) for line in lines)  # never the token itself


def _with_header(token: str, **header: object) -> str:
    head, body, signature = token.split(".")
    parsed = json.loads(base64.urlsafe_b64decode(head + "=="))
    raw = json.dumps({**parsed, **header}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + f".{body}.{signature}"


def test_bad_tokens_are_refused_with_a_reason(reg: AuthRegistry, issuer: TestIssuer):
    project = reg.new_project()
    audience = f"https://{project.replace('/', '-')}.example"  # no other test's trust has it
    trust(reg, project, issuer, "developer", audience)
    now = int(time.time())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "has expired": issuer.token(audience, exp=now - 120, iat=now - 600, nbf=now - 600),
        "not valid yet": issuer.token(audience, nbf=now + 600, iat=now),
        "audience (aud)": issuer.token("https://someone-else.example"),
        "no trust matches": issuer.token(audience, ref="refs/heads/feature"),
        "not allowed on this registry": issuer.sign(
            {**issuer.claims(audience), "iss": "https://evil.example"}
        ),
        "no project trusts the issuer": issuer.sign(
            {**issuer.claims(audience), "iss": "https://other.example"}
        ),
        "not in the issuer's JWKS": issuer.sign(issuer.claims(audience), "made-up", stranger),
        "signature does not verify": issuer.sign(issuer.claims(audience), issuer.kid, stranger),
        "'none' are not accepted": jwt.encode(issuer.claims(audience), None, algorithm="none"),
        "'HS256' are not accepted": jwt.encode(
            issuer.claims(audience), "k" * 32, algorithm="HS256", headers={"kid": issuer.kid}
        ),
        "is not a JWT": "not-a-token",
        "does not sign ES256": _with_header(issuer.token(audience), alg="ES256"),
    }
    for reason, token in cases.items():
        message = refusal(reg, token)
        assert message.startswith("OIDC login refused") and reason in message, (reason, message)
        basic = reg.basic("oidc", token)
        assert reg.client.get(f"/v2/{project}/app/tags/list", headers=basic).status_code == 401


def test_key_rotation_is_picked_up_and_garbage_kids_do_not_hammer_the_issuer(
    reg: AuthRegistry, rotating: TestIssuer
):
    issuer = rotating
    project = reg.new_project()
    trust(reg, project, issuer, "reporter")
    assert granted(reg, issuer.token(AUDIENCE), f"{project}/app") == ["pull"]
    new_kid = issuer.add_key("ES256")  # the issuer rotates: new tokens use a new key
    assert granted(reg, issuer.token(AUDIENCE, kid=new_kid), f"{project}/app") == ["pull"]
    fetches = issuer.jwks_fetches
    for n in range(5):
        forged = issuer.sign(issuer.claims(AUDIENCE), f"garbage-{n}", issuer.keys[new_kid])
        assert "not in the issuer's JWKS" in refusal(reg, forged)
    assert issuer.jwks_fetches == fetches


def test_deleting_a_trust_ends_its_logins(reg: AuthRegistry, issuer: TestIssuer):
    project = reg.new_project()
    made = trust(reg, project, issuer, "reporter")
    push_image(reg, f"{project}/app", "v1", layers=[b"ends"])
    token = reg.token_response("oidc", issuer.token(AUDIENCE), f"repository:{project}/app:pull")
    bearer = reg.bearer(token.json()["token"])
    assert reg.client.get(f"/v2/{project}/app/manifests/v1", headers=bearer).status_code == 200
    resp = reg.client.delete(
        f"/api/v1/projects/{project}/oidc_trust/{made['id']}", headers=auth(reg.admin_pat)
    )
    assert resp.status_code == 204
    assert reg.client.get(f"/v2/{project}/app/manifests/v1", headers=bearer).status_code == 401


# --- the exchange ------------------------------------------------------------------------


def test_exchange_gives_a_password_that_logs_in_until_the_id_token_ends(
    reg: AuthRegistry, issuer: TestIssuer
):
    project, other = reg.new_project(), reg.new_project()
    audience = f"https://{project.replace('/', '-')}.example"  # only these two trusts have it
    trust(reg, project, issuer, "developer", audience)
    trust(reg, other, issuer, "reporter", audience, repository="acme/app")
    id_token = issuer.token(audience, exp=int(time.time()) + 120)
    resp = reg.client.post("/api/v1/oidc/token", json={"token": id_token})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["username"] == "oidc" and 0 < body["expires_in"] <= 120
    assert body["projects"] == sorted(
        [{"project": project, "role": "developer"}, {"project": other, "role": "reporter"}],
        key=lambda p: p["project"],
    )
    password = body["password"]
    assert granted(reg, password, f"{project}/app") == ["pull", "push"]
    assert granted(reg, password, f"{other}/app") == ["pull"]
    push_image(reg, f"{project}/app", "v1", layers=[b"exchanged"])
    basic = reg.basic("oidc", password)
    assert reg.client.get(f"/v2/{project}/app/manifests/v1", headers=basic).status_code == 200
    # a password, not a bearer token: it grants nothing on its own
    bare = reg.client.get(f"/v2/{project}/app/manifests/v1", headers=reg.bearer(password))
    assert bare.status_code == 401


def test_exchange_refuses_bad_tokens_with_401(reg: AuthRegistry, issuer: TestIssuer):
    project = reg.new_project()
    trust(reg, project, issuer, "developer")
    expired = issuer.token(AUDIENCE, exp=int(time.time()) - 120)
    resp = reg.client.post("/api/v1/oidc/token", json={"token": expired})
    assert resp.status_code == 401
    assert "has expired" in resp.json()["error"]["message"]
    wrong = reg.client.post("/api/v1/oidc/token", json={"token": issuer.token("other-aud")})
    assert wrong.status_code == 401


def test_protected_tags_see_the_trusts_role_as_the_jobs_level(
    reg: AuthRegistry, issuer: TestIssuer
):
    project = reg.new_project()
    audience = f"https://{project.replace('/', '-')}.example"
    trust(reg, project, issuer, "developer", audience)
    protect(
        reg,
        project,
        tag_name_pattern="release",
        minimum_access_level_for_push="maintainer",
        minimum_access_level_for_delete="maintainer",
    )
    repo = f"{project}/app"
    ci = Login("oidc", issuer.token(audience))
    assert put(reg, repo, "main", image(reg, repo, "oidc-main"), ci).status_code == 201
    said = denial(put(reg, repo, "release", image(reg, repo, "oidc-release"), ci))
    assert said.endswith("only maintainer and above may push it (your access level: developer)")
