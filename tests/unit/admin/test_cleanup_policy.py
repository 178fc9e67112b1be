"""The cleanup policy's selection rules at their edges, and its validation. Pure."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from dockyard.admin import AdminError
from dockyard.admin.cleanup_policy import Policy, changed, next_run, rules

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def chosen(policy: Policy, tags: dict[str, timedelta]) -> list[str]:
    """Names the policy deletes from {name: age}, newest first."""
    items = [(name, NOW - age) for name, age in tags.items()]
    return [n for n, _ in rules(policy, NOW).selector.select(items, lambda t: t[0], lambda t: t[1])]


def days(*ages: int, prefix: str = "v") -> dict[str, timedelta]:
    return {f"{prefix}{i}": timedelta(days=age) for i, age in enumerate(ages)}


EVERYTHING = Policy(enabled=True, keep_n=None, older_than=None, name_regex=".*")


def test_keep_n_keeps_the_newest_by_push_time() -> None:
    tags = days(1, 5, 3, 2, 4)  # v0 newest ... v1 oldest
    assert chosen(Policy(keep_n=2, older_than=None), tags) == ["v2", "v4", "v1"]
    assert chosen(Policy(keep_n=5, older_than=None), tags) == []
    assert chosen(Policy(keep_n=6, older_than=None), tags) == []
    assert chosen(Policy(keep_n=4, older_than=None), tags) == ["v1"]


def test_keep_n_counts_only_tags_the_delete_pattern_matches() -> None:
    tags = {**days(1, 2, 3, prefix="dev-"), **days(0, 10, 20, prefix="v")}
    policy = Policy(keep_n=1, older_than=None, name_regex="dev-.*")
    # the release tags are neither deleted nor counted among the dev tags kept
    assert chosen(policy, tags) == ["dev-1", "dev-2"]


def test_older_than_deletes_only_what_was_pushed_before_the_cutoff() -> None:
    tags = {
        "old": timedelta(days=7, seconds=1),
        "edge": timedelta(days=7) - timedelta(seconds=1),
        "new": timedelta(hours=1),
    }
    assert chosen(Policy(keep_n=None, older_than="7d"), tags) == ["old"]
    assert chosen(Policy(keep_n=None, older_than=None), tags) == ["new", "edge", "old"]


def test_keep_n_and_older_than_together() -> None:
    # the newest two are kept whatever their age; of the rest only those past 30 days go
    tags = days(25, 50, 10, 60, 35, 20)
    assert chosen(Policy(keep_n=2, older_than="30d"), tags) == ["v4", "v1", "v3"]


def test_the_keep_pattern_wins_over_the_delete_pattern() -> None:
    tags = days(100, 100, 100, prefix="release-") | days(100, prefix="main")
    policy = Policy(keep_n=None, older_than=None, name_regex=".*", name_regex_keep="release-.*")
    assert chosen(policy, tags) == ["main0"]
    both = Policy(keep_n=None, older_than=None, name_regex="main.*", name_regex_keep="main0")
    assert chosen(both, tags) == []


def test_latest_is_always_kept_and_not_counted() -> None:
    tags = {"latest": timedelta(days=400), "a": timedelta(days=300), "b": timedelta(days=200)}
    assert chosen(EVERYTHING, tags) == ["b", "a"]
    # keep_n=1 keeps b (latest is out of the list before keep_n counts)
    assert chosen(Policy(keep_n=1, older_than=None), tags) == ["a"]
    assert chosen(Policy(keep_n=None, older_than=None, name_regex="latest"), tags) == []


def test_patterns_match_the_whole_name() -> None:
    tags = days(9, 9, 9, 9)  # v0 v1 v2 v3
    tags["v10"] = timedelta(days=9)
    assert chosen(Policy(keep_n=None, older_than=None, name_regex="v1"), tags) == ["v1"]
    assert chosen(Policy(keep_n=None, older_than=None, name_regex="v1|v10"), tags) == ["v10", "v1"]
    keep_prefix = Policy(keep_n=None, older_than=None, name_regex_keep="v")
    assert "v1" in chosen(keep_prefix, tags)  # 'v' keeps only a tag named exactly 'v'


def test_ties_in_push_time_are_broken_by_name() -> None:
    tags = dict.fromkeys(["b", "c", "a"], timedelta(days=1))
    assert chosen(Policy(keep_n=1, older_than=None), tags) == ["b", "a"]


def test_no_name_regex_deletes_nothing() -> None:
    assert chosen(Policy(name_regex=None, keep_n=None, older_than=None), days(100)) == []


def test_repository_regex_scopes_by_full_path() -> None:
    compiled = rules(Policy(repository_regex="acme/app/(web|api)"), NOW)
    assert compiled.covers("acme/app/web") and compiled.covers("acme/app/api")
    assert not compiled.covers("acme/app/web2") and not compiled.covers("acme/app")
    assert rules(Policy(), NOW).covers("anything/at/all")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name_regex": "v(1"}, "name_regex"),
        ({"name_regex_keep": "[z-a]"}, "name_regex_keep"),
        ({"repository_regex": "(?<=x)y"}, "repository_regex"),  # lookbehind: not RE2
        ({"name_regex": "a" * 256}, "name_regex"),
        ({"cadence": "2d"}, "cadence"),
        ({"cadence": None}, "cadence"),
        ({"older_than": "60d"}, "older_than"),
        ({"keep_n": 0}, "keep_n"),
        ({"keep_n": True}, "keep_n"),
        ({"keep_n": "5"}, "keep_n"),
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": True, "name_regex": None}, "name_regex"),
        ({"enabled": True, "name_regex": ""}, "name_regex"),
        ({"keep": 1}, "keep"),
    ],
)
def test_invalid_changes_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(AdminError) as raised:
        changed(Policy(), changes)
    assert field in str(raised.value)


def test_valid_changes_apply_only_what_is_given() -> None:
    policy = changed(Policy(), {"enabled": True, "cadence": "1month", "older_than": None})
    assert policy == Policy(enabled=True, cadence="1month", older_than=None)
    assert changed(policy, {"name_regex_keep": ""}).name_regex_keep is None
    assert next_run(NOW, "1month") == NOW + timedelta(days=30)
    assert next_run(NOW, "3month") == NOW + timedelta(days=90)
    assert next_run(NOW, "14d") == NOW + timedelta(days=14)


def test_a_hostile_pattern_runs_in_linear_time() -> None:
    policy = Policy(keep_n=None, older_than=None, name_regex="(a+)+$", name_regex_keep="(a|aa)+b")
    tags = {"a" * 120 + str(i): timedelta(days=1) for i in range(1000)}
    started = time.perf_counter()
    assert chosen(policy, tags) == []
    assert time.perf_counter() - started < 0.5
