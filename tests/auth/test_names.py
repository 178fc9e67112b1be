"""Deploy token logins never pass for a user or a system identity, and the audit log names
every token by its kind and id."""

from __future__ import annotations

import hashlib
import json

import pytest

from dockyard.admin import AdminError, accounts
from dockyard.admin import tokens as admin_tokens
from dockyard.db.queries import tokens as token_rows
from tests.api.helpers import auth
from tests.support.auth_registry import AuthRegistry

OCI = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


@pytest.mark.parametrize("name", ["admin", "Admin", "dockyard-ci-token", "oidc", "anonymous"])
def test_deploy_tokens_cannot_take_system_names(
    registry: AuthRegistry, project: str, name: str
) -> None:
    with pytest.raises(AdminError, match="reserved"):
        admin_tokens.create_deploy(registry.db, project, "k8s", ["read_registry"], username=name)


def test_deploy_tokens_cannot_take_a_users_name(registry: AuthRegistry, project: str) -> None:
    user = registry.new_user()
    with pytest.raises(AdminError, match="belongs to a user"):
        admin_tokens.create_deploy(
            registry.db, project, "k8s", ["read_registry"], username=user.name
        )
    resp = registry.client.post(
        f"/api/v1/projects/{project}/deploy_tokens",
        json={"name": "k8s", "scopes": ["read_registry"], "username": "admin"},
        headers=auth(registry.admin_pat),
    )
    assert resp.status_code == 400, resp.text
    assert "reserved" in resp.json()["error"]["message"]


def test_users_cannot_take_a_deploy_tokens_or_a_system_name(
    registry: AuthRegistry, project: str
) -> None:
    login = f"robot-{project.split('/')[1]}"
    admin_tokens.create_deploy(registry.db, project, "k8s", ["read_registry"], username=login)
    for name in (login, "dockyard-ci-token", "anonymous"):
        with pytest.raises(AdminError):
            accounts.create_user(registry.db, name, f"{name}@example.com", "long-password-1")


def test_audit_entries_name_the_credential_kind_and_id(
    registry: AuthRegistry, project: str
) -> None:
    login = f"bot-{project.split('/')[1]}"
    deploy = admin_tokens.create_deploy(
        registry.db, project, "bot", ["write_registry"], username=login
    )
    token = registry.token(login, deploy.secret, f"repository:{project}/img:pull,push")
    data = b"{}"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blob = registry.client.post(
        f"/v2/{project}/img/blobs/uploads/?digest={digest}",
        content=data,
        headers=registry.bearer(token),
    )
    assert blob.status_code == 201
    config = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": 2}
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI, "config": config, "layers": []})
    put = registry.client.put(
        f"/v2/{project}/img/manifests/v1",
        content=manifest,
        headers={**registry.bearer(token), "Content-Type": OCI},
    )
    assert put.status_code == 201, put.text
    user = registry.new_user({project: "developer"})
    registry.token(user.name, user.password)
    registry.token_response("dockyard-ci-token", "dy_job_invented")
    with registry.db.session() as conn:
        events = token_rows.audit_credentials(conn, limit=50)
    actor = f"deploy_token:{deploy.record.id} ({login})"
    assert (actor, "login", "deploy", deploy.record.id) in events
    assert (actor, "push", "deploy", deploy.record.id) in events
    assert (user.name, "login", "password", None) in events
    assert ("dockyard-ci-token", "login_failed", "job", None) in events
