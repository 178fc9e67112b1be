"""The Owner rule as a pure function: who may change which membership."""

from __future__ import annotations

from dockyard.auth.policy import DEVELOPER, MAINTAINER, OWNER, membership_refusal
from dockyard.auth.principal import Principal

PERSON = Principal("user", "someone", 7)
ADMIN = Principal("user", "root", 1, is_admin=True)


def test_maintainers_manage_members_below_owner() -> None:
    assert membership_refusal(PERSON, MAINTAINER, DEVELOPER, MAINTAINER, 1) is None
    assert membership_refusal(PERSON, MAINTAINER, None, DEVELOPER, 1) is None
    assert membership_refusal(PERSON, DEVELOPER, None, DEVELOPER, 1) == "manage"


def test_only_owners_touch_owners() -> None:
    assert membership_refusal(PERSON, MAINTAINER, OWNER, DEVELOPER, 1) == "owner"
    assert membership_refusal(PERSON, MAINTAINER, OWNER, None, 1) == "owner"
    assert membership_refusal(PERSON, MAINTAINER, MAINTAINER, OWNER, 2) == "owner"
    assert membership_refusal(PERSON, OWNER, MAINTAINER, OWNER, 2) is None
    assert membership_refusal(ADMIN, 0, OWNER, DEVELOPER, 1) is None


def test_the_last_owner_stays_even_for_admins() -> None:
    assert membership_refusal(PERSON, OWNER, OWNER, MAINTAINER, 0) == "last_owner"
    assert membership_refusal(ADMIN, 0, OWNER, None, 0) == "last_owner"
    assert membership_refusal(PERSON, OWNER, OWNER, None, 1) is None


def test_tokens_other_than_a_persons_never_manage() -> None:
    job = Principal("job", "dockyard-ci-token", 7, project_id=3)
    deploy = Principal("deploy", "deploy-k8s", None, project_id=3)
    assert membership_refusal(job, OWNER, None, DEVELOPER, 1) == "manage"
    assert membership_refusal(deploy, 0, None, DEVELOPER, 1) == "manage"
