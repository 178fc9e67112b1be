"""Every command, group and parameter of `dockyard` explains itself in --help."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from dockyard.cli.main import app

ROOT = typer.main.get_command(app)


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


COMMANDS = list(walk(ROOT))


def test_the_tree_has_the_admin_commands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in (
        "serve",
        "setup",
        "db upgrade",
        "user list",
        "group list",
        "project list",
        "member list",
        "token list",
        "token create",
        "token revoke",
    ):
        assert expected in names


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "dockyard" for p, _ in COMMANDS]
)
def test_command_and_every_parameter_have_help(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or "").strip(), f"dockyard {' '.join(path)} has no help"
    for param in command.params:
        assert (getattr(param, "help", None) or "").strip(), (
            f"dockyard {' '.join(path)}: {param.name} has no help"
        )


@pytest.mark.parametrize(
    "path", [p for p, _ in COMMANDS], ids=[" ".join(p) or "dockyard" for p, _ in COMMANDS]
)
def test_help_runs(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.stdout


@pytest.mark.parametrize("path", [p for p, c in COMMANDS if "list" in p], ids=lambda p: " ".join(p))
def test_every_listing_takes_output(path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    output = next(p for p in command.params if p.name == "output")
    assert {"--output", "-o"} <= set(output.opts)
