"""Every listing prints a table with a header, or with `-o json` a list of objects."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Invoke

# (command, columns every row has)
LISTINGS = {
    ("user", "list"): ("id", "username", "email", "admin", "blocked"),
    ("group", "list"): ("path",),
    ("project", "list"): ("id", "path", "visibility"),
    ("member", "list", "acme/app"): ("username", "role"),
    ("token", "list"): (
        "id",
        "kind",
        "name",
        "username",
        "hint",
        "scopes",
        "state",
        "expires_at",
        "last_used_at",
    ),
}


@pytest.fixture
def populated(dockyard: Invoke) -> Invoke:
    for args in (
        ("group", "create", "acme"),
        ("project", "create", "acme/app", "--visibility", "internal"),
        (
            "user",
            "create",
            "alice",
            "--email",
            "alice@example.com",
            "--password",
            "correct-horse-battery",
        ),
        ("member", "add", "alice", "acme/app", "developer"),
        ("token", "create", "personal", "--user", "alice", "--scope", "api", "--name", "ci"),
    ):
        result = dockyard(*args)
        assert result.exit_code == 0, result.output
    return dockyard


@pytest.mark.parametrize("command", list(LISTINGS), ids=" ".join)
def test_table_has_a_header_and_aligned_rows(populated: Invoke, command: tuple[str, ...]) -> None:
    result = populated(*command)
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == [c.upper() for c in LISTINGS[command]]
    assert rows, "the populated data shows up"
    # Aligned: every column starts where its header starts.
    starts = [header.index(c.upper()) for c in LISTINGS[command]]
    for row in rows:
        for start in starts[1:]:
            assert row[start - 1] == " " and row[start] != " ", (header, row)


@pytest.mark.parametrize("flag", ["--output", "-o"])
@pytest.mark.parametrize("command", list(LISTINGS), ids=" ".join)
def test_json_is_a_list_of_objects_with_the_columns(
    populated: Invoke, command: tuple[str, ...], flag: str
) -> None:
    result = populated(*command, flag, "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list) and data
    for row in data:
        assert tuple(row) == LISTINGS[command]


def test_json_values_are_typed(populated: Invoke) -> None:
    users = {u["username"]: u for u in json.loads(populated("user", "list", "-o", "json").stdout)}
    assert users["admin"]["admin"] is True and users["alice"]["blocked"] is False
    assert users["alice"]["email"] == "alice@example.com"
    projects = json.loads(populated("project", "list", "-o", "json").stdout)
    assert projects == [{"id": projects[0]["id"], "path": "acme/app", "visibility": "internal"}]
    members = json.loads(populated("member", "list", "acme/app", "-o", "json").stdout)
    assert {"username": "alice", "role": "developer"} in members
    (token,) = json.loads(populated("token", "list", "--user", "alice", "-o", "json").stdout)
    assert token["scopes"] == ["api"] and token["state"] == "active" and token["name"] == "ci"
    assert token["hint"].startswith("dy_pat_") and token["username"] == "alice"


def test_empty_listing_prints_the_header_or_an_empty_list(dockyard: Invoke) -> None:
    assert dockyard("group", "list").stdout.split() == ["PATH"]
    assert json.loads(dockyard("group", "list", "-o", "json").stdout) == []


def test_token_create_json_gives_the_secret_to_scripts(dockyard: Invoke) -> None:
    result = dockyard(
        "token",
        "create",
        "personal",
        "--user",
        "admin",
        "--scope",
        "api",
        "--scope",
        "write_registry",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["token"].startswith("dy_pat_") and created["username"] == "admin"
    assert created["scopes"] == ["api", "write_registry"]
    listed = json.loads(dockyard("token", "list", "-o", "json").stdout)
    assert [t["id"] for t in listed] == [created["id"]]


def test_unknown_output_format_is_a_usage_error(dockyard: Invoke) -> None:
    result = dockyard("user", "list", "-o", "xml")
    assert result.exit_code == 2
    assert "xml" in result.stderr and result.stdout == ""
