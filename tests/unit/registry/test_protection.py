"""Tag protection rules as values: full-match RE2, the strictest rule, the messages, the
cleanup seam, and what any pattern text does to the compiler."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dockyard.auth import policy
from dockyard.auth.principal import Principal
from dockyard.db.queries.protection import TagRuleRow
from dockyard.registry.protection import InvalidPattern, RuleSet, compile_pattern

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def rules(*specs: tuple[str, str | None, str | None, bool]) -> RuleSet:
    found = RuleSet.of(
        "acme/app",
        [
            TagRuleRow(n, 1, p, push, d, imm, "t", NOW)
            for n, (p, push, d, imm) in enumerate(specs, 1)
        ],
    )
    assert found is not None
    return found


def test_no_rules_is_no_rule_set() -> None:
    assert RuleSet.of("acme/app", []) is None


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        ("v1", "v1", True),
        ("v1", "v10", False),  # whole names only: no accidental prefix match
        ("v1", "xv1", False),
        ("v.*", "v1.2.3", True),
        ("^latest$", "latest", True),  # GitLab-style anchors mean the same
        (".*-stable$", "2.1-stable", True),
        (r"\d+\.\d+\.\d+", "1.0.0", True),
        (r"\d+\.\d+\.\d+", "v1.0.0", False),
        ("a|b", "b", True),  # alternation is wrapped as a whole
    ],
)
def test_patterns_match_the_whole_tag_name(pattern: str, tag: str, matches: bool) -> None:
    found = rules((pattern, "maintainer", "maintainer", False))
    assert bool(found.matching(tag)) is matches
    assert found.deletable_by_cleanup(tag) is not matches


def test_the_strictest_rule_refuses_and_is_named() -> None:
    found = rules(
        (".*", "maintainer", "maintainer", False),
        ("prod-.*", "owner", "admin", False),
    )
    assert found.push_refusal("dev", policy.MAINTAINER, exists=False) is None
    rule, message = found.push_refusal("prod-1", policy.MAINTAINER, exists=True)
    assert rule.id == 2
    assert message == (
        "tag prod-1 is protected by rule 2 (tag_name_pattern 'prod-.*'): only owner and above "
        "may push it (your access level: maintainer)"
    )
    assert found.push_refusal("prod-1", policy.OWNER, exists=True) is None
    assert found.delete_refusal("prod-1", policy.OWNER)[1].endswith(
        "only admin and above may delete it (your access level: owner)"
    )
    assert found.delete_refusal("prod-1", policy.ADMIN) is None
    assert found.protection("prod-1").minimum_access_level_for_delete == "admin"


def test_immutable_tags_are_created_once_and_never_moved_or_deleted() -> None:
    found = rules(("v.*", None, None, True))
    assert found.push_refusal("v1", 0, exists=False) is None  # anyone with push creates it
    for level in (policy.DEVELOPER, policy.OWNER, policy.ADMIN):
        assert "is immutable by rule 1" in found.push_refusal("v1", level, exists=True)[1]
        assert "is immutable by rule 1" in found.delete_refusal("v1", level)[1]
    assert found.protection("v1").label == "immutable"
    assert not found.deletable_by_cleanup("v1")


def test_the_level_is_checked_before_immutability_as_in_gitlab() -> None:
    found = rules(("v.*", "owner", "owner", False), ("v.*", None, None, True))
    assert "only owner and above may push" in found.push_refusal("v1", 40, exists=True)[1]
    assert "immutable" in found.push_refusal("v1", policy.ADMIN, exists=True)[1]
    assert "immutable" in found.delete_refusal("v1", policy.ADMIN)[1]  # no one deletes it


def test_a_delete_by_digest_may_meet_any_rule_a_tag_only_its_own() -> None:
    found = rules(("v.*", "maintainer", "maintainer", False))
    digest = "sha256:" + "a" * 64
    assert found.may_apply(digest, delete=True) and not found.may_apply(digest)
    assert found.may_apply("v2") and found.may_apply("v2", delete=True)
    assert not found.may_apply("main")
    assert not rules((".*", None, None, True)).may_apply(digest)  # a push by digest: no tag


@pytest.mark.parametrize(
    ("principal", "role", "level"),
    [
        (Principal("user", "d", 1), policy.DEVELOPER, policy.DEVELOPER),
        (Principal("user", "a", 1, is_admin=True), 0, policy.ADMIN),
        (Principal("job", "dockyard-ci-token", 1, credential_id=3), policy.MAINTAINER, 40),
        (Principal("deploy", "deploy-k8s", None, credential_id=4), policy.OWNER, 0),
        (Principal("anonymous"), 0, 0),
    ],
)
def test_access_levels(principal: Principal, role: int, level: int) -> None:
    assert policy.tag_access_level(principal, role) == level


@given(st.text(max_size=120), st.text(max_size=120))
@example("v\ud800", "v1")  # JSON carries lone surrogates; UTF-8 cannot
@example("v.*", "v\udfff")
def test_any_pattern_text_compiles_or_says_why(pattern: str, tag: str) -> None:
    try:
        compiled = compile_pattern(pattern)
    except InvalidPattern as error:
        assert str(error).startswith("tag_name_pattern ")
    else:
        assert 1 <= len(pattern) <= 100
        compiled.fullmatch("v1")
        found = RuleSet.of("acme/app", [TagRuleRow(1, 1, pattern, None, None, True, "t", NOW)])
        assert found is not None
        found.delete_refusal(tag, policy.ADMIN)  # any tag text, never an exception
