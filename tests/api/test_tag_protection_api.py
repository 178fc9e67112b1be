"""/api/v1/projects/{path}/registry/protection/tag_rules: the contract, validation and
who may manage rules; and REST deletes refused by rules, on both databases."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dockyard.db.queries import tokens as token_rows
from tests.api.helpers import auth, repository_id
from tests.support.auth_registry import AuthRegistry
from tests.support.tag_protection import (
    add_rule,
    admin,
    image,
    pointed,
    protect,
    put,
    rules_url,
    user,
)

MUTABLE = {
    "minimum_access_level_for_push": "maintainer",
    "minimum_access_level_for_delete": "owner",
}


@pytest.fixture(scope="module")
def reg(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend)


@pytest.fixture
def project(reg: AuthRegistry) -> str:
    return reg.new_project("private")


def error(resp, status: int) -> dict:  # noqa: ANN001
    assert resp.status_code == status, resp.text
    return resp.json()["error"]


def test_create_list_and_delete_rules(reg: AuthRegistry, project: str) -> None:
    created = add_rule(reg, project, tag_name_pattern="v.*", **MUTABLE)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert {k: rule[k] for k in ("tag_name_pattern", "immutable", *MUTABLE)} == {
        "tag_name_pattern": "v.*",
        "immutable": False,
        **MUTABLE,
    }
    assert rule["created_by"] == "personal_token:" + rule["created_by"].split(":")[1]
    frozen = add_rule(reg, project, tag_name_pattern="v.*", immutable=True).json()
    assert frozen["minimum_access_level_for_push"] is None
    assert frozen["minimum_access_level_for_delete"] is None

    listed = reg.client.get(rules_url(project), headers=auth(reg.admin_pat))
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [rule["id"], frozen["id"]]

    gone = reg.client.delete(f"{rules_url(project)}/{rule['id']}", headers=auth(reg.admin_pat))
    assert gone.status_code == 204
    again = reg.client.delete(f"{rules_url(project)}/{rule['id']}", headers=auth(reg.admin_pat))
    assert error(again, 404)["message"] == f"no tag protection rule {rule['id']} in {project}"
    listed = reg.client.get(rules_url(project), headers=auth(reg.admin_pat))
    assert [r["id"] for r in listed.json()] == [frozen["id"]]

    with reg.db.session() as conn:
        events = [(a, t) for _, a, t in token_rows.audit_events(conn, limit=200)]
    assert ("tag_rule_added", f"{project}:rule {rule['id']}") in events
    assert ("tag_rule_removed", f"{project}:rule {rule['id']}") in events


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        (
            {"tag_name_pattern": "(v", **MUTABLE},
            400,
            "tag_name_pattern is not a valid RE2 expression: missing ): (v",
        ),
        (
            {"tag_name_pattern": "(?=v)x", **MUTABLE},
            400,
            "tag_name_pattern is not a valid RE2 expression: invalid perl operator: (?=",
        ),
        ({"tag_name_pattern": "v" * 101, **MUTABLE}, 422, "at most 100 characters"),
        ({"tag_name_pattern": "", **MUTABLE}, 422, "at least 1 character"),
        (
            {**MUTABLE, "tag_name_pattern": "v.*", "minimum_access_level_for_push": "developer"},
            422,
            "'maintainer', 'owner' or 'admin'",
        ),
        (
            {"tag_name_pattern": "v.*", "minimum_access_level_for_push": "maintainer"},
            400,
            "minimum_access_level_for_delete must be one of maintainer, owner, admin",
        ),
        (
            {"tag_name_pattern": "v.*", "immutable": True, **MUTABLE},
            400,
            "an immutable rule takes no minimum_access_level_for_push or "
            "minimum_access_level_for_delete",
        ),
        ({"tag_name_pattern": "v.*", "immutable": "yes"}, 422, "valid boolean"),
        ({"tag_name_pattern": "v.*", "immutable": True, "name": "x"}, 422, "Extra inputs"),
    ],
)
def test_invalid_rules_are_refused_with_the_reason(
    reg: AuthRegistry, project: str, body: dict, status: int, said: str
) -> None:
    assert said in error(add_rule(reg, project, **body), status)["message"]
    assert reg.client.get(rules_url(project), headers=auth(reg.admin_pat)).json() == []


def test_duplicates_and_the_limit_of_five_of_each_kind(reg: AuthRegistry, project: str) -> None:
    protect(reg, project, tag_name_pattern="a", **MUTABLE)
    dup = add_rule(reg, project, tag_name_pattern="a", **MUTABLE)
    assert error(dup, 409)["message"] == f"{project} already has a protection rule for 'a'"
    protect(reg, project, tag_name_pattern="a", immutable=True)  # the other kind: allowed
    for pattern in "bcde":
        protect(reg, project, tag_name_pattern=pattern, **MUTABLE)
    sixth = add_rule(reg, project, tag_name_pattern="f", **MUTABLE)
    assert "has 5 protection rules, the most a project may have" in error(sixth, 400)["message"]
    assert add_rule(reg, project, tag_name_pattern="f", immutable=True).status_code == 201


def test_who_may_read_and_manage_rules(reg: AuthRegistry, project: str) -> None:
    reporter = user(reg, project, "reporter")
    developer = user(reg, project, "developer")
    maintainer = user(reg, project, "maintainer")
    owner = user(reg, project, "owner")
    outsider = user(reg, project, None)
    assert reg.client.get(rules_url(project), headers=auth(reporter.pat)).status_code == 200
    assert error(reg.client.get(rules_url(project), headers=auth(outsider.pat)), 404)

    said = error(add_rule(reg, project, developer.pat, tag_name_pattern="v", **MUTABLE), 403)
    assert said["message"] == f"you may not manage policy in {project}"
    said = error(add_rule(reg, project, maintainer.pat, tag_name_pattern="v", immutable=True), 403)
    assert said["message"] == f"only an Owner of {project} may add or remove immutable rules"
    said = error(add_rule(reg, project, maintainer.pat, tag_name_pattern="v", **MUTABLE), 403)
    assert said["message"] == (
        f"only owner and above may add or remove a rule that requires owner "
        f"(your access level in {project}: maintainer)"
    )
    mine = add_rule(
        reg,
        project,
        maintainer.pat,
        tag_name_pattern="m",
        minimum_access_level_for_push="maintainer",
        minimum_access_level_for_delete="maintainer",
    )
    assert mine.status_code == 201
    owners = add_rule(reg, project, owner.pat, tag_name_pattern="o", **MUTABLE).json()
    frozen = add_rule(reg, project, owner.pat, tag_name_pattern="i", immutable=True).json()
    admins = protect(
        reg,
        project,
        tag_name_pattern="adm",
        minimum_access_level_for_push="admin",
        minimum_access_level_for_delete="admin",
    )

    for rule_id in (owners["id"], frozen["id"]):
        url = f"{rules_url(project)}/{rule_id}"
        assert error(reg.client.delete(url, headers=auth(maintainer.pat)), 403)
    url = f"{rules_url(project)}/{admins}"
    assert (
        "only admin and above"
        in error(reg.client.delete(url, headers=auth(owner.pat)), 403)["message"]
    )
    for rule_id in (mine.json()["id"], owners["id"], frozen["id"]):
        url = f"{rules_url(project)}/{rule_id}"
        assert reg.client.delete(url, headers=auth(owner.pat)).status_code == 204
    url = f"{rules_url(project)}/{admins}"
    assert reg.client.delete(url, headers=auth(reg.admin_pat)).status_code == 204


def test_rest_deletes_of_protected_tags_are_refused(reg: AuthRegistry, project: str) -> None:
    repo = f"{project}/app"
    for tag in ("v1", "v2", "dev"):
        assert put(reg, repo, tag, image(reg, repo, tag), admin(reg)).status_code == 201
    frozen = protect(reg, project, tag_name_pattern="v1", immutable=True)
    guarded = protect(reg, project, tag_name_pattern="v2", **MUTABLE)  # delete: owner
    maintainer = user(reg, project, "maintainer")
    rid = repository_id(reg, project, repo, reg.admin_pat)
    tags = f"/api/v1/registry/repositories/{rid}/tags"

    said = error(reg.client.delete(f"{tags}/v1", headers=auth(reg.admin_pat)), 403)
    assert said == {
        "code": "denied",
        "message": f"tag v1 is immutable by rule {frozen} (tag_name_pattern 'v1'): no one may "
        "move or delete it until the rule is removed",
    }
    said = error(reg.client.delete(f"{tags}/v2", headers=auth(maintainer.pat)), 403)
    assert said["message"] == (
        f"tag v2 is protected by rule {guarded} (tag_name_pattern 'v2'): only owner and above "
        "may delete it (your access level: maintainer)"
    )
    selection = {"tags": ["dev", "v2"]}
    resp = reg.client.post(f"{tags}/delete", json=selection, headers=auth(maintainer.pat))
    assert error(resp, 403)["code"] == "denied"
    bulk = {"name_regex_delete": ".*", "dry_run": True}
    resp = reg.client.post(f"{tags}/bulk-delete", json=bulk, headers=auth(reg.admin_pat))
    assert "tag v1 is immutable" in error(resp, 403)["message"]
    repo_delete = reg.client.delete(
        f"/api/v1/registry/repositories/{rid}", headers=auth(reg.admin_pat)
    )
    assert error(repo_delete, 403)["message"].startswith(
        f"repository {repo} cannot be deleted: tag v1 is immutable"
    )
    assert [pointed(reg, repo, t) is not None for t in ("v1", "v2", "dev")] == [True] * 3

    bulk = {"name_regex_delete": ".*", "name_regex_keep": "v1"}
    resp = reg.client.post(f"{tags}/bulk-delete", json=bulk, headers=auth(reg.admin_pat))
    assert resp.status_code == 200, resp.text  # an admin passes the owner rule on v2
    assert sorted(resp.json()["tags"]) == ["dev", "v2"]
    assert pointed(reg, repo, "v1") is not None and pointed(reg, repo, "v2") is None


def test_tag_listings_show_what_protects_each_tag(reg: AuthRegistry, project: str) -> None:
    repo = f"{project}/app"
    for tag in ("v1", "dev"):
        assert put(reg, repo, tag, image(reg, repo, tag), admin(reg)).status_code == 201
    first = protect(reg, project, tag_name_pattern="v.*", **MUTABLE)
    second = protect(reg, project, tag_name_pattern="v1", immutable=True)
    rid = repository_id(reg, project, repo, reg.admin_pat)
    listed = reg.client.get(
        f"/api/v1/registry/repositories/{rid}/tags", headers=auth(reg.admin_pat)
    ).json()
    shown = {t["name"]: t["protection"] for t in listed}
    assert shown == {
        "dev": None,
        "v1": {
            "immutable": True,
            "rule_ids": [first, second],
            **MUTABLE,
        },
    }
    detail = reg.client.get(
        f"/api/v1/registry/repositories/{rid}/tags/v1", headers=auth(reg.admin_pat)
    ).json()
    assert detail["protection"]["immutable"] is True
