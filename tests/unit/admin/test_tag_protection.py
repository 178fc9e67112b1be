"""The enforcement service over a real database: the cleanup policies' seam, the cache
that keeps a project without rules off the database, and callers' access levels."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from dockyard.admin import accounts, members
from dockyard.admin.tag_protection import TagProtection
from dockyard.admin.tag_rules import TagRules
from dockyard.auth import policy
from dockyard.auth.principal import ANONYMOUS, Principal
from dockyard.db.engine import Database


@pytest.fixture(scope="module")
def db(backend: str, migrated_database: Callable[[str], Database]) -> Database:
    return migrated_database(backend)


@pytest.fixture
def project(db: Database) -> str:
    group = f"g{uuid.uuid4().hex[:8]}"
    accounts.create_group(db, group)
    path = f"{group}/app"
    accounts.create_project(db, path, "private")
    return path


def add(db: Database, protection: TagProtection, path: str, pattern: str, **kind: object) -> None:
    levels = (None, None) if kind.get("immutable") else ("maintainer", "owner")
    TagRules(db, protection).add(
        accounts.find_project(db, path), pattern, *levels, bool(kind.get("immutable")), 60, "t"
    )


def test_cleanup_never_deletes_a_protected_or_immutable_tag(db: Database, project: str) -> None:
    protection = TagProtection(db)
    assert protection.deletable_by_cleanup(project, "v1")  # no rules: everything may go
    add(db, protection, project, "v.*")
    add(db, protection, project, "release-.*", immutable=True)
    keep = protection.cleanup_filter(project)
    assert [t for t in ("v1", "release-2", "dev-3", "xv1") if keep(t)] == ["dev-3", "xv1"]
    assert not protection.deletable_by_cleanup(project, "release-2")
    assert protection.deletable_by_cleanup(project, "nightly")
    said = protection.cleanup_refusal(project, f"{project}/api", "release-2")
    assert said is not None and said.startswith("immutable by rule ")
    assert said.endswith(
        "(tag_name_pattern 'release-.*'): cleanup policies never delete protected tags"
    )
    assert protection.cleanup_refusal(project, f"{project}/api", "v1").startswith("protected")
    assert protection.cleanup_refusal(project, f"{project}/api", "nightly") is None


class Unreachable:
    def session(self, write: bool = False):  # noqa: ANN201
        raise AssertionError("the database was asked")


def test_a_project_without_rules_costs_no_query_once_cached(db: Database, project: str) -> None:
    protection = TagProtection(db)
    developer = Principal("user", "dev", 12345)
    assert protection.guard(developer, f"{project}/api", "v1") is None  # loads, and caches
    protection._db = Unreachable()  # type: ignore[assignment]
    for _ in range(3):
        assert protection.guard(developer, f"{project}/api", "v1") is None
        assert protection.guard(developer, f"{project}/api", "sha256:" + "a" * 64) is None
        assert protection.delete_refusal(developer, f"{project}/api", ["v1"]) is None


def test_rules_that_do_not_match_never_look_up_the_callers_level(
    db: Database, project: str
) -> None:
    protection = TagProtection(db)
    add(db, protection, project, "v.*")
    developer = Principal("user", "dev", 12345)
    assert protection.rules(f"{project}/api") is not None  # cached now
    protection._db = Unreachable()  # type: ignore[assignment]
    assert protection.guard(developer, f"{project}/api", "main") is None


def test_access_levels_come_from_roles(db: Database, project: str) -> None:
    name = f"u{uuid.uuid4().hex[:8]}"
    user = accounts.create_user(
        db, name, f"{name}@example.com", "a-long-password-" + uuid.uuid4().hex
    )
    members.add_member(db, name, project, "maintainer")
    protection = TagProtection(db)
    person = Principal("user", name, user.id)
    assert protection.level(person, f"{project}/api") == policy.MAINTAINER
    assert protection.level(Principal("job", "ci", user.id, credential_id=1), project) == 40
    assert protection.level(Principal("user", "a", 1, is_admin=True), project) == policy.ADMIN
    assert protection.level(Principal("deploy", "d", None, credential_id=2), project) == 0
    assert protection.level(ANONYMOUS, project) == 0
    assert TagProtection(db, auth_on=False).level(ANONYMOUS, project) == policy.ADMIN
