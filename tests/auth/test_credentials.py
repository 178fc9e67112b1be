"""Each kind of credential: what it may do, and when it stops working."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from dockyard.admin import accounts
from dockyard.admin import tokens as admin_tokens
from dockyard.auth.credentials import JOB_USERNAME
from dockyard.db.queries import tokens as token_rows
from tests.support.auth_registry import AuthRegistry


def access_of(token: str) -> list[dict]:
    return jwt.decode(token, options={"verify_signature": False})["access"]


def push(registry: AuthRegistry, repository: str, username: str, secret: str) -> int:
    token = registry.token(username, secret, f"repository:{repository}:pull,push")
    data = f"{repository} {time.time_ns()}".encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return registry.client.post(
        f"/v2/{repository}/blobs/uploads/?digest={digest}",
        content=data,
        headers=registry.bearer(token),
    ).status_code


def can_pull(registry: AuthRegistry, repository: str, username: str, secret: str) -> bool:
    return bool(access_of(registry.token(username, secret, f"repository:{repository}:pull")))


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


def test_docker_login_checks_credentials_only(registry: AuthRegistry) -> None:
    user = registry.new_user()
    resp = registry.token_response(
        user.name, user.password, account=user.name, client_id="docker", offline_token="true"
    )
    body = resp.json()
    assert resp.status_code == 200
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300 and body["issued_at"].endswith("Z")
    assert access_of(body["token"]) == []
    assert "refresh_token" in body
    version = registry.client.get("/v2/", headers=registry.bearer(body["token"]))
    assert version.status_code == 200


def test_scopes_may_repeat_and_be_space_separated(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user({project: "developer"})
    resp = registry.client.get(
        "/jwt/auth",
        params=[
            ("service", "dockyard"),
            ("scope", f"repository:{project}/a:pull repository:{project}/b:pull"),
            ("scope", f"repository:{project}/c:push,pull"),
        ],
        headers=registry.basic(user.name, user.pat),
    )
    names = {entry["name"]: entry["actions"] for entry in access_of(resp.json()["token"])}
    assert names == {
        f"{project}/a": ["pull"],
        f"{project}/b": ["pull"],
        f"{project}/c": ["pull", "push"],
    }


def test_push_tokens_outlive_pull_tokens(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user({project: "developer"})
    pull = registry.token_response(user.name, user.pat, f"repository:{project}/a:pull").json()
    both = registry.token_response(user.name, user.pat, f"repository:{project}/a:push").json()
    assert pull["expires_in"] == registry.settings.token_ttl_seconds
    assert both["expires_in"] == registry.settings.push_token_ttl_seconds > pull["expires_in"]


def test_read_only_token_cannot_push(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user({project: "maintainer"})
    read = admin_tokens.create_personal(registry.db, user.name, "ro", ["read_registry"]).secret
    assert can_pull(registry, f"{project}/img", user.name, read)
    assert push(registry, f"{project}/img", user.name, read) == 403
    write = admin_tokens.create_personal(registry.db, user.name, "rw", ["write_registry"]).secret
    assert push(registry, f"{project}/img", user.name, write) == 201


def test_deploy_tokens(registry: AuthRegistry, project: str) -> None:
    read = admin_tokens.create_deploy(registry.db, project, "ci-read", ["read_registry"])
    write = admin_tokens.create_deploy(
        registry.db, project, "ci-write", ["read_registry", "write_registry"], username="robot"
    )
    assert write.username == "robot" and write.secret.startswith("dy_deploy_")
    assert can_pull(registry, f"{project}/img", read.username, read.secret)
    assert push(registry, f"{project}/img", read.username, read.secret) == 403
    assert push(registry, f"{project}/img", write.username, write.secret) == 201
    token = registry.token(write.username, write.secret, f"repository:{project}/img:*")
    assert access_of(token)[0]["actions"] == ["pull", "push"]  # never delete
    elsewhere = registry.new_project("private")
    assert not can_pull(registry, f"{elsewhere}/img", write.username, write.secret)
    assert registry.token_response("someone-else", write.secret).status_code == 401


def test_group_deploy_token_covers_projects_below(registry: AuthRegistry) -> None:
    project = registry.new_project("private")
    group = project.split("/")[0]
    token = admin_tokens.create_deploy(registry.db, group, "grp", ["read_registry"])
    assert can_pull(registry, f"{project}/img", token.username, token.secret)
    assert not can_pull(
        registry, f"{registry.new_project('private')}/img", token.username, token.secret
    )


def test_job_tokens(registry: AuthRegistry, project: str) -> None:
    other = registry.new_project("private")
    unreadable = registry.new_project("private")
    user = registry.new_user({project: "maintainer", other: "reporter"})
    job = admin_tokens.create_job(registry.db, project, user.name, ttl_seconds=600)
    assert job.username == JOB_USERNAME and job.secret.startswith("dy_job_")
    assert push(registry, f"{project}/img", JOB_USERNAME, job.secret) == 201
    assert can_pull(registry, f"{other}/img", JOB_USERNAME, job.secret)
    token = registry.token(JOB_USERNAME, job.secret, f"repository:{other}/img:pull,push,delete")
    assert access_of(token)[0]["actions"] == ["pull"]  # push/delete only in its own project
    assert not can_pull(registry, f"{unreadable}/img", JOB_USERNAME, job.secret)
    assert registry.token_response(user.name, job.secret).status_code == 401


def test_job_tokens_need_a_developer(registry: AuthRegistry, project: str) -> None:
    reporter = registry.new_user({project: "reporter"})
    with pytest.raises(accounts.AdminError):
        admin_tokens.create_job(registry.db, project, reporter.name, ttl_seconds=60)


def test_expired_tokens_are_refused(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user({project: "developer"})
    soon = datetime.now(UTC) + timedelta(seconds=1)  # a past date is refused at creation
    expired = admin_tokens.create_personal(registry.db, user.name, "old", ["api"], soon)
    job = admin_tokens.create_job(registry.db, project, user.name, ttl_seconds=1)
    time.sleep(1.5)
    assert registry.token_response(user.name, expired.secret).status_code == 401
    assert registry.token_response(JOB_USERNAME, job.secret).status_code == 401


def test_revoked_tokens_stop_at_once(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user({project: "developer"})
    issued = admin_tokens.create_personal(registry.db, user.name, "soon-gone", ["api"])
    bearer = registry.token(user.name, issued.secret, f"repository:{project}/img:pull")
    admin_tokens.revoke(registry.db, issued.record.id)
    assert registry.token_response(user.name, issued.secret).status_code == 401
    resp = registry.client.get(f"/v2/{project}/img/tags/list", headers=registry.bearer(bearer))
    assert resp.status_code == 401  # the JWT it minted is re-checked against the revocation


def test_blocked_users_and_their_tokens(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user({project: "developer"})
    accounts.set_user_flags(registry.db, user.name, blocked=True)
    # The right password learns why (docker prints a 403's message); a wrong one does not.
    refused = registry.token_response(user.name, user.password)
    assert refused.status_code == 403
    assert "blocked" in refused.json()["errors"][0]["message"]
    wrong = registry.token_response(user.name, "not-the-password-at-all")
    assert wrong.status_code == 401
    assert "blocked" not in wrong.text
    assert registry.token_response(user.name, user.pat).status_code == 401


def test_failed_logins_are_rate_limited(make_auth_registry, backend: str) -> None:
    registry = make_auth_registry(backend, login_max_failures=3)
    user = registry.new_user()
    for _ in range(3):
        assert registry.token_response(user.name, "wrong-password").status_code == 401
    locked = registry.token_response(user.name, user.password)
    assert locked.status_code == 429
    assert locked.json()["errors"][0]["code"] == "TOOMANYREQUESTS"


def test_oauth2_password_and_refresh_grants(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user({project: "developer"})
    scope = f"repository:{project}/img:pull,push"
    first = registry.client.post(
        "/jwt/auth",
        data={
            "grant_type": "password",
            "username": user.name,
            "password": user.password,
            "service": "dockyard",
            "scope": scope,
            "client_id": "containerd",
            "access_type": "offline",
        },
    )
    assert first.status_code == 200, first.text
    assert access_of(first.json()["access_token"])[0]["actions"] == ["pull", "push"]
    second = registry.client.post(
        "/jwt/auth",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "service": "dockyard",
            "scope": scope,
        },
    )
    assert second.status_code == 200, second.text
    assert access_of(second.json()["access_token"])[0]["actions"] == ["pull", "push"]
    bad = registry.client.post(
        "/jwt/auth", data={"grant_type": "refresh_token", "refresh_token": "nonsense"}
    )
    assert bad.status_code == 401
    assert registry.client.post("/jwt/auth", data={"grant_type": "magic"}).status_code == 400


def test_basic_auth_on_the_registry_itself(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user({project: "reporter"})
    headers = registry.basic(user.name, user.pat)
    assert registry.client.get(f"/v2/{project}/img/tags/list", headers=headers).status_code == 404
    denied = registry.client.post(f"/v2/{project}/img/blobs/uploads/", headers=headers)
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["code"] == "DENIED"


def test_the_audit_log_records_logins_pushes_and_token_changes(
    registry: AuthRegistry, project: str
) -> None:
    user = registry.new_user({project: "maintainer"})
    assert push(registry, f"{project}/img", user.name, user.pat) == 201
    registry.token_response(user.name, "wrong")
    with registry.db.session() as conn:
        events = token_rows.audit_events(conn, limit=500)
    pat_id = admin_tokens.list_tokens(registry.db, username=user.name)[0].id
    assert (f"personal_token:{pat_id} ({user.name})", "login", "registry") in events
    assert (user.name, "login_failed", "registry") in events
    assert any(action == "token_create" for _, action, _ in events)
