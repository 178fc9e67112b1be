"""Exit codes scripts rely on: 0 done, 1 failed or not found (message on stderr), 2 bad usage."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockyard.cli.main import app
from tests.cli.conftest import Invoke


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (("token", "revoke", "999"), "no active token 999", "dockyard token list"),
        (("user", "block", "nobody"), "nobody", "dockyard user list"),
        (("member", "list", "acme/nope"), "acme/nope", "dockyard project list"),
        (("token", "list", "--project", "acme/nope"), "acme/nope", "dockyard project list"),
        (("project", "create", "nogroup/app"), "nogroup", "dockyard group list"),
        (("token", "create", "personal", "--user", "admin", "--scope", "root"), "scopes", "--help"),
    ],
)
def test_failure_exits_1_with_what_and_what_to_do_on_stderr(
    dockyard: Invoke, args: tuple[str, ...], message: str, hint: str
) -> None:
    result = dockyard(*args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert hint in result.stderr


def test_duplicate_is_a_failure(dockyard: Invoke) -> None:
    assert dockyard("group", "create", "acme").exit_code == 0
    again = dockyard("group", "create", "acme")
    assert again.exit_code == 1 and "acme" in again.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("token", "create", "personal"),  # needs --user
        ("token", "create", "job", "--user", "admin"),  # needs --project too
        ("token", "create", "robot", "--user", "admin"),  # unknown kind
        ("project", "create", "acme/app", "--visibility", "secret"),
        ("member", "add", "admin", "acme/app", "boss"),
        ("token", "revoke", "abc"),
        ("user", "list", "--no-such-option"),
    ],
)
def test_bad_usage_exits_2(dockyard: Invoke, args: tuple[str, ...]) -> None:
    result = dockyard(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Usage:" in result.stderr


def test_missing_database_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("DOCKYARD_CONFIG", raising=False)
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["user", "list"])
    assert result.exit_code == 1
    assert "cannot use the database" in result.stderr and "dockyard setup" in result.stderr
    assert "Traceback" not in result.output


def test_serve_on_a_taken_address_says_so(
    dockyard: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("DOCKYARD_LISTEN", f"127.0.0.1:{taken.getsockname()[1]}")
        result = dockyard("serve")
    assert result.exit_code == 1
    assert "cannot listen on 127.0.0.1:" in result.stderr and "DOCKYARD_LISTEN" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("env", "message", "hint"),
    [
        ({"DOCKYARD_STORAGE": "gcs"}, "must be one of 'filesystem', 's3'", "--help"),
        ({"DOCKYARD_STORAGE": "s3"}, "s3_bucket is empty", "DOCKYARD_S3_BUCKET"),
        (
            {
                "DOCKYARD_STORAGE": "s3",
                "DOCKYARD_S3_BUCKET": "b",
                "DOCKYARD_S3_ENDPOINT": "s3.local",
            },
            "s3_endpoint must be an http:// or https:// URL",
            "AWS S3",
        ),
    ],
)
def test_serve_refuses_bad_storage_settings(
    dockyard: Invoke, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str, hint: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = dockyard("serve")
    assert result.exit_code == 1, result.output
    assert message in result.stderr and hint in result.stderr
    assert "Traceback" not in result.output
