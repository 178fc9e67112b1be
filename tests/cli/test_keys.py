"""`dockyard keys list` and `dockyard keys rotate`."""

from __future__ import annotations

import json

from tests.cli.conftest import Invoke


def keys_json(dockyard: Invoke) -> list[dict]:
    result = dockyard("keys", "list", "--output", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_setup_made_one_current_key_of_each_purpose(dockyard: Invoke) -> None:
    listed = keys_json(dockyard)
    assert sorted(row["purpose"] for row in listed) == ["session", "token"]
    assert all(row["state"] == "current" and row["source"] == "database" for row in listed)
    assert all("secret" not in row for row in listed)
    assert "BEGIN" not in dockyard("keys", "list").output  # the table shows no secret either


def test_rotate_makes_a_new_current_key_and_keeps_the_old_for_verifying(dockyard: Invoke) -> None:
    before = {row["purpose"]: row["kid"] for row in keys_json(dockyard)}
    rotated = dockyard("keys", "rotate", "--purpose", "token", "-o", "json")
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(rotated.output)
    assert [row["purpose"] for row in new] == ["token"] and new[0]["generation"] == 2
    listed = keys_json(dockyard)
    tokens = {row["kid"]: row for row in listed if row["purpose"] == "token"}
    assert tokens[new[0]["kid"]]["state"] == "current"
    assert tokens[before["token"]]["state"] == "verify-only"
    assert tokens[before["token"]]["dropped_after"] is not None
    sessions = [row for row in listed if row["purpose"] == "session"]
    assert [row["kid"] for row in sessions] == [before["session"]]  # only the token key turned
    both = dockyard("keys", "rotate", "-o", "json")
    assert sorted(row["purpose"] for row in json.loads(both.output)) == ["session", "token"]


def test_rotating_a_key_from_signing_key_file_is_refused_with_advice(
    dockyard: Invoke, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("DOCKYARD_SIGNING_KEY_FILE", str(tmp_path / "op" / "token.pem"))
    assert dockyard("setup").exit_code == 0
    refused = dockyard("keys", "rotate", "--purpose", "token")
    assert refused.exit_code == 1
    assert "signing_key_file" in refused.output and "unset" in refused.output
    session_only = dockyard("keys", "rotate", "-o", "json")
    assert session_only.exit_code == 0, session_only.output
    assert "not rotated" in session_only.output  # said on stderr, mixed in by the runner
    listed = keys_json(dockyard)
    assert [row["source"] for row in listed if row["purpose"] == "token"] == [
        str(tmp_path / "op" / "token.pem")
    ]
