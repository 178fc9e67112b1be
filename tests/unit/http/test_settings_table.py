"""The settings page's table: every setting once and in a group, secrets only as set or
not set, passwords cut out of URLs, values in words where that helps."""

from __future__ import annotations

import dataclasses

import pytest

from dockyard.config import SECRETS, Settings, load_settings
from dockyard.http.ui.settings_table import GROUPS, OTHER, is_secret, settings_table, shown


def test_every_setting_is_shown_once_in_a_named_group() -> None:
    groups = settings_table(load_settings(environ={}))
    names = [row.name for group in groups for row in group.rows]
    assert sorted(names) == sorted(f.name for f in dataclasses.fields(Settings))
    assert OTHER not in {g.title for g in groups}  # a new setting gets a group on purpose
    assert [g.title for g in groups] == [t for t, _ in GROUPS]
    assert len({g.anchor for g in groups}) == len(groups)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        *[(name, True) for name in SECRETS],
        ("s3_access_key", True),
        ("s3_secret_key", True),
        ("tls_key", True),
        ("scanner_auth", True),
        ("token_ttl_seconds", False),  # names a token, holds none
        ("redis_key_prefix", False),
        ("password_min_length", False),
        ("signing_key_file", False),  # a path
        ("listen", False),
    ],
)
def test_what_counts_as_a_secret(name: str, secret: bool) -> None:
    assert is_secret(name) is secret


def test_secret_values_never_reach_the_table() -> None:
    env = {"DOCKYARD_S3_SECRET_KEY": "s3-secret-value", "DOCKYARD_ADMIN_PASSWORD": "pw-value-1"}
    settings = load_settings(environ=env, scanner_auth="Bearer scanner-value")
    rows = {row.name: row for group in settings_table(settings) for row in group.rows}
    text = repr(rows)
    for value in ("s3-secret-value", "pw-value-1", "scanner-value"):
        assert value not in text
    assert (rows["s3_secret_key"].value, rows["s3_secret_key"].default) == ("set", "not set")
    assert rows["s3_secret_key"].source == "environment"
    assert rows["scanner_auth"].source == "command line" and rows["scanner_auth"].secret
    assert rows["s3_access_key"].value == "not set"


@pytest.mark.parametrize(
    ("value", "seen"),
    [
        (
            "postgresql://dockyard:hunter2@db:5432/dockyard",
            "postgresql://dockyard:•••@db:5432/dockyard",
        ),
        ("redis://:s3cret@cache:6379/0", "redis://:•••@cache:6379/0"),
        ("postgresql://dockyard@db/dockyard", "postgresql://dockyard@db/dockyard"),
        ("http://trivy:8080", "http://trivy:8080"),
        (True, "true"),
        (0, "0"),
    ],
)
def test_values_as_shown(value: object, seen: str) -> None:
    assert shown(value, secret=False) == seen


def test_rows_carry_default_variable_doc_and_a_hint() -> None:
    settings = load_settings(environ={"DOCKYARD_GC_REVIEW_DELAY_SECONDS": "7200"})
    rows = {row.name: row for group in settings_table(settings) for row in group.rows}
    delay = rows["gc_review_delay_seconds"]
    assert (delay.value, delay.default, delay.hint) == ("7200", "86400", "2 hours")
    assert delay.variable == "DOCKYARD_GC_REVIEW_DELAY_SECONDS"
    assert delay.doc.startswith("How long something that lost its last reference waits")
    assert rows["max_manifest_bytes"].hint == "4.0 MiB"
    assert rows["delete_enabled"].value == "true" and rows["delete_enabled"].source == "default"
