"""CLI fixtures: the `dockyard` app run in-process on a fresh SQLite data dir per test."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dockyard.cli.main import app

Invoke = Callable[..., Result]


@pytest.fixture
def dockyard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run `dockyard ARGS` against a set-up temp data dir; returns click's Result."""
    for name in list(os.environ):
        if name.startswith("DOCKYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCKYARD_ADMIN_PASSWORD", "cli-admin-password")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    setup = invoke("setup")
    assert setup.exit_code == 0, setup.output
    return invoke
