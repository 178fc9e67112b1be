"""`dockyard protection list|add|remove PROJECT`: the rules of a project, as the operator."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Invoke

COLUMNS = [
    "id",
    "tag_name_pattern",
    "immutable",
    "minimum_access_level_for_push",
    "minimum_access_level_for_delete",
    "created_by",
    "created_at",
]


@pytest.fixture
def project(dockyard: Invoke) -> Invoke:
    for args in (("group", "create", "acme"), ("project", "create", "acme/app")):
        result = dockyard(*args)
        assert result.exit_code == 0, result.output
    return dockyard


def test_add_list_and_remove(project: Invoke) -> None:
    added = project(
        "protection", "add", "acme/app", "--pattern", "v.*",
        "--push-level", "maintainer", "--delete-level", "owner",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output == "added rule 1: tags matching 'v.*' are protected\n"
    frozen = project(
        "protection", "add", "acme/app", "--pattern", "1\\..*", "--immutable", "-o", "json"
    )
    assert frozen.exit_code == 0, frozen.output
    rule = json.loads(frozen.stdout)
    assert rule["immutable"] is True and rule["created_by"] == "cli"
    assert rule["minimum_access_level_for_push"] is None

    table = project("protection", "list", "acme/app")
    lines = table.output.splitlines()
    assert lines[0].split() == [c.upper() for c in COLUMNS]
    assert lines[1].split()[:5] == ["1", "v.*", "no", "maintainer", "owner"]
    assert lines[2].split()[:5] == ["2", "1\\..*", "yes", "-", "-"]
    listed = json.loads(project("protection", "list", "acme/app", "-o", "json").stdout)
    assert [list(r) for r in listed] == [COLUMNS, COLUMNS]
    assert [r["tag_name_pattern"] for r in listed] == ["v.*", "1\\..*"]

    removed = project("protection", "remove", "acme/app", "1")
    assert removed.exit_code == 0 and removed.output == "removed rule 1 from acme/app\n"
    listed = json.loads(project("protection", "list", "acme/app", "-o", "json").stdout)
    assert [r["id"] for r in listed] == [2]


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (
            ("--pattern", "(v", "--push-level", "owner", "--delete-level", "owner"),
            1,
            "error: tag_name_pattern is not a valid RE2 expression: missing ): (v",
        ),
        (
            ("--pattern", "v.*", "--push-level", "owner"),
            1,
            "error: minimum_access_level_for_delete must be one of maintainer, owner, admin",
        ),
        (
            ("--pattern", "v.*", "--immutable", "--push-level", "owner"),
            1,
            "error: an immutable rule takes no minimum_access_level_for_push",
        ),
        (("--pattern", "v.*", "--push-level", "developer"), 2, "--push-level"),
    ],
)
def test_invalid_rules_say_why(project: Invoke, args: tuple, code: int, said: str) -> None:
    result = project("protection", "add", "acme/app", *args)
    assert result.exit_code == code, result.output
    assert said in result.output


def test_unknown_project_or_rule(project: Invoke) -> None:
    missing = project("protection", "list", "acme/nope")
    assert missing.exit_code == 1
    assert "error: no project 'acme/nope'" in missing.output
    assert "dockyard project list" in missing.output
    gone = project("protection", "remove", "acme/app", "7")
    assert gone.exit_code == 1
    assert "error: no tag protection rule 7 in acme/app" in gone.output
