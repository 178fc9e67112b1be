"""Protected and immutable tags enforced on /v2 pushes and deletes, for every kind of
caller (Developer, Maintainer, Owner, admin, CI job, deploy token), on both databases."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.auth_registry import AuthRegistry
from tests.support.tag_protection import (
    Login,
    add_rule,
    admin,
    delete,
    denial,
    deploy,
    digest,
    image,
    job,
    pointed,
    protect,
    put,
    rules_url,
    user,
)


@pytest.fixture(scope="module")
def reg(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend)


@pytest.fixture
def project(reg: AuthRegistry) -> str:
    return reg.new_project("private")


def test_a_developer_may_not_create_or_move_a_protected_tag(reg: AuthRegistry, project: str):
    rule = protect(
        reg,
        project,
        tag_name_pattern="v.*",
        minimum_access_level_for_push="maintainer",
        minimum_access_level_for_delete="maintainer",
    )
    repo = f"{project}/app"
    developer, maintainer = user(reg, project, "developer"), user(reg, project, "maintainer")
    first, second = image(reg, repo, "one"), image(reg, repo, "two")

    message = denial(put(reg, repo, "v1", first, developer))
    assert message == (
        f"tag v1 is protected by rule {rule} (tag_name_pattern 'v.*'): only maintainer and "
        "above may push it (your access level: developer)"
    )
    assert pointed(reg, repo, "v1") is None  # nothing was created
    assert put(reg, repo, "dev-1", first, developer).status_code == 201  # 'v.*' is matched in full
    assert put(reg, repo, "xv1", first, developer).status_code == 201

    assert put(reg, repo, "v1", first, maintainer).status_code == 201
    assert put(reg, repo, "v1", first, developer).status_code == 201  # the same digest: no move
    assert "only maintainer and above may push" in denial(put(reg, repo, "v1", second, developer))
    assert pointed(reg, repo, "v1") == digest(first)
    assert put(reg, repo, "v1", second, maintainer).status_code == 201
    assert pointed(reg, repo, "v1") == digest(second)
    # Pushing by digest creates no tag, so no rule applies.
    assert put(
        reg, repo, digest(image(reg, repo, "x")), image(reg, repo, "x"), developer
    ).is_success


@pytest.mark.parametrize(
    ("level", "refused", "allowed"),
    [("owner", "maintainer", "owner"), ("admin", "owner", "admin")],
)
def test_the_least_level_to_push_and_delete(
    reg: AuthRegistry, project: str, level: str, refused: str, allowed: str
):
    protect(
        reg,
        project,
        tag_name_pattern="release",
        minimum_access_level_for_push=level,
        minimum_access_level_for_delete=level,
    )
    repo = f"{project}/app"
    below = user(reg, project, refused)
    enough = admin(reg) if allowed == "admin" else user(reg, project, allowed)
    body = image(reg, repo, level)
    said = denial(put(reg, repo, "release", body, below))
    assert f"only {level} and above may push it (your access level: {refused})" in said
    assert put(reg, repo, "release", body, enough).status_code == 201

    said = denial(delete(reg, repo, "release", below))
    assert f"only {level} and above may delete it (your access level: {refused})" in said
    said = denial(delete(reg, repo, digest(body), below))  # a digest takes its tags along
    assert "tag release is protected" in said
    assert pointed(reg, repo, "release") == digest(body)
    assert delete(reg, repo, "release", enough).status_code == 202
    assert pointed(reg, repo, "release") is None


def test_the_strictest_matching_rule_applies(reg: AuthRegistry, project: str):
    protect(
        reg,
        project,
        tag_name_pattern=".*",
        minimum_access_level_for_push="maintainer",
        minimum_access_level_for_delete="maintainer",
    )
    strict = protect(
        reg,
        project,
        tag_name_pattern="prod-.*",
        minimum_access_level_for_push="owner",
        minimum_access_level_for_delete="maintainer",
    )
    repo = f"{project}/app"
    maintainer = user(reg, project, "maintainer")
    body = image(reg, repo, "strict")
    assert put(reg, repo, "staging", body, maintainer).status_code == 201
    said = denial(put(reg, repo, "prod-1", body, maintainer))
    assert f"rule {strict} (tag_name_pattern 'prod-.*')" in said


def test_an_immutable_tag_is_created_once_and_then_never_moved_or_deleted(
    reg: AuthRegistry, project: str
):
    rule = protect(reg, project, tag_name_pattern=r"\d+\.\d+\.\d+", immutable=True)
    repo = f"{project}/app"
    developer = user(reg, project, "developer")
    first, second = image(reg, repo, "1.0.0"), image(reg, repo, "other")

    assert put(reg, repo, "1.0.0", first, developer).status_code == 201  # anyone may create it
    assert put(reg, repo, "1.0.0", first, admin(reg)).status_code == 201  # same digest: no move
    expected = (
        f"tag 1.0.0 is immutable by rule {rule} (tag_name_pattern '\\d+\\.\\d+\\.\\d+'): "
        "no one may move or delete it until the rule is removed"
    )
    for who in (developer, user(reg, project, "owner"), admin(reg)):
        assert denial(put(reg, repo, "1.0.0", second, who)) == expected
    for who in (user(reg, project, "maintainer"), admin(reg)):
        assert denial(delete(reg, repo, "1.0.0", who)) == expected
        assert denial(delete(reg, repo, digest(first), who)) == expected
    assert pointed(reg, repo, "1.0.0") == digest(first)

    resp = reg.client.delete(rules_url(project) + f"/{rule}", headers=_rest(admin(reg)))
    assert resp.status_code == 204
    assert put(reg, repo, "1.0.0", second, developer).status_code == 201  # the rule is gone
    assert pointed(reg, repo, "1.0.0") == digest(second)


def test_concurrent_first_pushes_of_an_immutable_tag_leave_exactly_one_winner(
    reg: AuthRegistry, project: str
):
    protect(reg, project, tag_name_pattern="once", immutable=True)
    repo = f"{project}/app"
    bodies = [image(reg, repo, f"racer-{n}") for n in range(8)]
    who = admin(reg)
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda body: put(reg, repo, "once", body, who), bodies))
    won = [body for body, resp in zip(bodies, answers, strict=True) if resp.status_code == 201]
    assert len(won) == 1, [r.status_code for r in answers]
    assert all(r.status_code in (201, 403) for r in answers)
    assert pointed(reg, repo, "once") == digest(won[0])


def test_signatures_and_sboms_can_still_refer_to_an_immutable_tag(reg: AuthRegistry, project: str):
    protect(reg, project, tag_name_pattern="v.*", immutable=True)
    repo = f"{project}/app"
    developer = user(reg, project, "developer")
    subject = image(reg, repo, "signed")
    assert put(reg, repo, "v1", subject, developer).status_code == 201
    signature = image(reg, repo, "sig", subject=subject.decode())
    resp = put(reg, repo, digest(signature), signature, developer)
    assert resp.status_code == 201, resp.text
    assert resp.headers["oci-subject"] == digest(subject)
    token = reg.token("admin", reg.admin_pat, f"repository:{repo}:pull")
    found = reg.client.get(f"/v2/{repo}/referrers/{digest(subject)}", headers=reg.bearer(token))
    assert [m["digest"] for m in found.json()["manifests"]] == [digest(signature)]
    assert pointed(reg, repo, "v1") == digest(subject)
    # A referrer goes with a delete of its own digest; the tag stays.
    assert delete(reg, repo, digest(signature), admin(reg)).status_code == 202


def test_ci_job_tokens_act_with_their_users_level_and_deploy_tokens_with_none(
    reg: AuthRegistry, project: str
):
    protect(
        reg,
        project,
        tag_name_pattern="main",
        minimum_access_level_for_push="maintainer",
        minimum_access_level_for_delete="maintainer",
    )
    repo = f"{project}/app"
    body = image(reg, repo, "ci")
    developer_job = job(reg, project, user(reg, project, "developer"))
    maintainer_job = job(reg, project, user(reg, project, "maintainer"))
    said = denial(put(reg, repo, "main", body, developer_job))
    assert said.endswith("only maintainer and above may push it (your access level: developer)")
    assert put(reg, repo, "main", body, maintainer_job).status_code == 201

    token = deploy(reg, project)
    said = denial(put(reg, repo, "main", image(reg, repo, "deploy"), token))
    assert said.endswith("(your access level: none)")
    assert put(reg, repo, "feature", body, token).status_code == 201


def test_a_missing_tag_is_not_found_even_when_protected(reg: AuthRegistry, project: str):
    protect(reg, project, tag_name_pattern="gone", immutable=True)
    resp = delete(reg, f"{project}/app", "gone", admin(reg))
    assert resp.status_code in (404,), resp.text


def test_rules_apply_to_every_repository_of_the_project_only(reg: AuthRegistry, project: str):
    protect(reg, project, tag_name_pattern="stable", immutable=True)
    other = reg.new_project("private")
    for repo in (f"{project}/app", f"{project}/app/worker", f"{other}/app"):
        assert put(reg, repo, "stable", image(reg, repo, "a"), admin(reg)).status_code == 201
    assert denial(
        put(
            reg,
            f"{project}/app/worker",
            "stable",
            image(reg, f"{project}/app/worker", "b"),
            admin(reg),
        )
    )
    assert put(
        reg, f"{other}/app", "stable", image(reg, f"{other}/app", "b"), admin(reg)
    ).is_success


def test_a_new_rule_applies_to_the_next_push_at_once(reg: AuthRegistry, project: str):
    repo = f"{project}/app"
    developer = user(reg, project, "developer")
    assert (
        put(reg, repo, "v1", image(reg, repo, "a"), developer).status_code == 201
    )  # cached: no rules
    resp = add_rule(
        reg,
        project,
        tag_name_pattern="v1",
        minimum_access_level_for_push="maintainer",
        minimum_access_level_for_delete="maintainer",
    )
    assert resp.status_code == 201
    assert denial(put(reg, repo, "v1", image(reg, repo, "b"), developer))


def _rest(login: Login) -> dict[str, str]:
    assert login.pat is not None
    return {"Authorization": f"Bearer {login.pat}"}
