"""The password policy: length, and no leaning on the username."""

from __future__ import annotations

import pytest

from dockyard.auth.passwords import password_problem


@pytest.mark.parametrize(
    ("username", "password", "problem"),
    [
        ("alice", "correct-horse-battery", None),
        ("alice", "short-pw", "too short: use at least 12 characters"),
        ("alice", "Alice-2024!!", "leans on the username"),  # 7 characters besides 'alice'
        ("alice", "ALICEALICEALICEALICE", "leans on the username"),
        ("alice", "alice-correct-horse", None),  # long enough without it
        ("bob", "x" * 1025, "too long"),
        ("bob", "dy_pat_correct-horse-battery", "must not start like an access token"),
    ],
)
def test_policy(username: str, password: str, problem: str | None) -> None:
    found = password_problem(username, password)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_minimum_is_a_setting() -> None:
    assert password_problem("alice", "12345678", min_length=8) is None
    assert "at least 16" in (password_problem("alice", "123456789012345", min_length=16) or "")
