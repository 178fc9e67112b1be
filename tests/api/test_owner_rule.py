"""Owners are changed only by Owners, and a project or group never loses its last Owner.

The rule lives in dockyard.admin.members; these tests drive it through REST, the UI's
settings form and the CLI, which must all answer the same way.
"""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from dockyard.admin import accounts
from dockyard.cli.main import app as cli
from tests.api.helpers import auth
from tests.support.auth_registry import AuthRegistry
from tests.ui.test_pages import csrf_of, signed_in


def members(registry: AuthRegistry, path: str, kind: str = "projects") -> dict[str, str]:
    resp = registry.client.get(f"/api/v1/{kind}/{path}/members", headers=auth(registry.admin_pat))
    assert resp.status_code == 200, resp.text
    return {m["username"]: m["role"] for m in resp.json()}


def message(resp) -> str:  # noqa: ANN001
    return resp.json()["error"]["message"]


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    return registry.new_project("private")


def test_maintainer_cannot_demote_or_remove_a_project_owner(
    registry: AuthRegistry, project: str
) -> None:
    owner = registry.new_user({project: "owner"})
    maintainer = registry.new_user({project: "maintainer"})
    url = f"/api/v1/projects/{project}/members"
    as_maintainer = auth(maintainer.pat)
    demoted = registry.client.put(
        f"{url}/{owner.name}", json={"role": "developer"}, headers=as_maintainer
    )
    assert demoted.status_code == 403, demoted.text
    assert demoted.json()["error"]["code"] == "forbidden"
    assert "only an Owner" in message(demoted)
    removed = registry.client.delete(f"{url}/{owner.name}", headers=as_maintainer)
    assert removed.status_code == 403 and "only an Owner" in message(removed)
    # POST on an existing member changes the role: the same rule applies
    reposted = registry.client.post(
        url, json={"username": owner.name, "role": "guest"}, headers=as_maintainer
    )
    assert reposted.status_code == 403 and "only an Owner" in message(reposted)
    assert members(registry, project)[owner.name] == "owner"
    # Maintainers still manage everyone below Owner
    developer = registry.new_user({project: "developer"})
    changed = registry.client.put(
        f"{url}/{developer.name}", json={"role": "reporter"}, headers=as_maintainer
    )
    assert changed.status_code == 200
    gone = registry.client.delete(f"{url}/{developer.name}", headers=as_maintainer)
    assert gone.status_code == 204


def test_owner_promotes_and_the_last_owner_stays(registry: AuthRegistry, project: str) -> None:
    owner = registry.new_user({project: "owner"})
    maintainer = registry.new_user({project: "maintainer"})
    url = f"/api/v1/projects/{project}/members"
    self_demote = registry.client.put(
        f"{url}/{owner.name}", json={"role": "maintainer"}, headers=auth(owner.pat)
    )
    assert self_demote.status_code == 409, self_demote.text
    assert self_demote.json()["error"]["code"] == "conflict"
    assert "last Owner" in message(self_demote)
    self_remove = registry.client.delete(f"{url}/{owner.name}", headers=auth(owner.pat))
    assert self_remove.status_code == 409 and "last Owner" in message(self_remove)
    # not even an instance administrator removes the last Owner
    by_admin = registry.client.delete(f"{url}/{owner.name}", headers=auth(registry.admin_pat))
    assert by_admin.status_code == 409
    promoted = registry.client.put(
        f"{url}/{maintainer.name}", json={"role": "owner"}, headers=auth(owner.pat)
    )
    assert promoted.status_code == 200, promoted.text
    assert members(registry, project)[maintainer.name] == "owner"
    # two Owners now: one may step down, and the other becomes the last one
    stepped = registry.client.put(
        f"{url}/{owner.name}", json={"role": "developer"}, headers=auth(owner.pat)
    )
    assert stepped.status_code == 200
    last = registry.client.delete(f"{url}/{maintainer.name}", headers=auth(maintainer.pat))
    assert last.status_code == 409


def test_group_owners_count_for_the_projects_below(registry: AuthRegistry) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    project = registry.new_project("private", group=group)
    group_owner = registry.new_user({group: "owner"})
    project_owner = registry.new_user({project: "owner"})
    resp = registry.client.delete(
        f"/api/v1/projects/{project}/members/{project_owner.name}", headers=auth(group_owner.pat)
    )
    assert resp.status_code == 204, resp.text  # the group's Owner still owns the project


def test_group_owner_rule(registry: AuthRegistry) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    accounts.create_group(registry.db, group)
    owner = registry.new_user({group: "owner"})
    maintainer = registry.new_user({group: "maintainer"})
    url = f"/api/v1/groups/{group}/members"
    as_maintainer = auth(maintainer.pat)
    posted = registry.client.post(
        url, json={"username": owner.name, "role": "developer"}, headers=as_maintainer
    )
    assert posted.status_code == 403 and "only an Owner" in message(posted)
    put = registry.client.put(f"{url}/{owner.name}", json={"role": "guest"}, headers=as_maintainer)
    assert put.status_code == 403 and "only an Owner" in message(put)
    deleted = registry.client.delete(f"{url}/{owner.name}", headers=as_maintainer)
    assert deleted.status_code == 403
    made = registry.client.post(
        url, json={"username": maintainer.name, "role": "owner"}, headers=as_maintainer
    )
    assert made.status_code == 403
    assert members(registry, group, "groups")[owner.name] == "owner"
    leave = registry.client.delete(f"{url}/{owner.name}", headers=auth(owner.pat))
    assert leave.status_code == 409 and "last Owner" in message(leave)
    promoted = registry.client.put(
        f"{url}/{maintainer.name}", json={"role": "owner"}, headers=auth(owner.pat)
    )
    assert promoted.status_code == 200
    assert registry.client.delete(f"{url}/{owner.name}", headers=auth(owner.pat)).status_code == 204


def test_subgroup_owner_is_an_owner_from_above(registry: AuthRegistry) -> None:
    parent = f"g{uuid.uuid4().hex[:8]}"
    accounts.create_group(registry.db, parent)
    accounts.create_group(registry.db, f"{parent}/sub")
    parent_owner = registry.new_user({parent: "owner"})
    sub_maintainer = registry.new_user({f"{parent}/sub": "maintainer"})
    url = f"/api/v1/groups/{parent}/sub/members"
    made = registry.client.put(
        f"{url}/{sub_maintainer.name}", json={"role": "owner"}, headers=auth(parent_owner.pat)
    )
    assert made.status_code == 200, made.text


def test_maintainer_cannot_remove_an_owner_in_the_ui(registry: AuthRegistry, project: str) -> None:
    owner = registry.new_user({project: "owner"})
    maintainer = registry.new_user({project: "maintainer"})
    client = signed_in(registry, maintainer.name, maintainer.password)
    page = client.get(f"/p/{project}/-/settings")
    token = csrf_of(page.text)
    for form in (
        {"action": "remove_member", "username": owner.name},
        {"action": "add_member", "username": owner.name, "role": "developer"},
    ):
        refused = client.post(f"/p/{project}/-/settings", data={"csrf": token, **form})
        assert refused.status_code == 200 and "only an Owner" in refused.text
    assert members(registry, project)[owner.name] == "owner"
    as_owner = signed_in(registry, owner.name, owner.password)
    token = csrf_of(as_owner.get(f"/p/{project}/-/settings").text)
    last = as_owner.post(
        f"/p/{project}/-/settings",
        data={"csrf": token, "action": "remove_member", "username": owner.name},
    )
    assert "last Owner" in last.text
    assert members(registry, project)[owner.name] == "owner"


def test_cli_keeps_the_last_owner(registry: AuthRegistry) -> None:
    project = registry.new_project("private")
    owner = registry.new_user({project: "owner"})
    env = {
        "DOCKYARD_DATA_DIR": str(registry.settings.data_dir),
        "DOCKYARD_DATABASE_URL": registry.settings.database_url,
    }
    runner = CliRunner()
    demote = runner.invoke(cli, ["member", "add", owner.name, project, "developer"], env=env)
    assert demote.exit_code == 1 and "last Owner" in demote.output
    remove = runner.invoke(cli, ["member", "remove", owner.name, project], env=env)
    assert remove.exit_code == 1 and "last Owner" in remove.output
    other = registry.new_user()
    made = runner.invoke(cli, ["member", "add", other.name, project, "owner"], env=env)
    assert made.exit_code == 0, made.output
    removed = runner.invoke(cli, ["member", "remove", owner.name, project], env=env)
    assert removed.exit_code == 0, removed.output
    assert owner.name not in members(registry, project)
