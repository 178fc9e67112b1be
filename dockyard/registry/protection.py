"""Protected and immutable tags: which rules a tag matches, what they refuse, and the
checks a push or a delete makes inside its own transaction.

A rule's ``tag_name_pattern`` is RE2 and must match the whole tag name, as cleanup
policies' patterns do: ``v1`` protects ``v1`` only, ``v1.*`` every tag starting with it
(GitLab's examples ``.*``, ``^v.*``, ``^latest$`` and ``.*-stable$`` mean the same either
way). A protected tag may be created, moved or deleted only by a caller whose access
level reaches the rule's minimum; an immutable tag may be created by anyone with push
rights and then never moved or deleted, by anyone, until its rule is removed. When
several rules match, the strictest applies. Levels are GitLab's numbers: Maintainer 40,
Owner 50, admin 60.

This module decides with the level it is given; who the caller is and what level they
hold is the HTTP layer's business (``dockyard.auth.policy.tag_access_level``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import re2

from dockyard.db.queries import protection as rows
from dockyard.oci.digest import looks_like_digest
from dockyard.oci.errors import Code, RegistryError

LEVELS = {"maintainer": 40, "owner": 50, "admin": 60}
ROLE_NAMES = {0: "none", 10: "guest", 20: "reporter", 30: "developer"} | {
    n: name for name, n in LEVELS.items()
}
MAX_PATTERN = 100  # GitLab's limit
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a bad pattern is the user's mistake, answered, not logged


class InvalidPattern(ValueError):
    """The pattern is not RE2 or is too long; the message says why."""


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 pattern (each distinct pattern is compiled once per process)."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise InvalidPattern(f"tag_name_pattern must be 1 to {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, _OPTIONS)
    except UnicodeEncodeError:  # a lone surrogate, which JSON can carry
        raise InvalidPattern("tag_name_pattern must be valid Unicode text") from None
    except re2.error as error:
        reason = error.args[0] if error.args else "invalid"
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise InvalidPattern(f"tag_name_pattern is not a valid RE2 expression: {reason}") from None


def role_name(level: int) -> str:
    return ROLE_NAMES.get(level) or ROLE_NAMES[max(n for n in ROLE_NAMES if n <= level)]


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    pattern: str
    push: str | None  # least level that may push; None for an immutable rule
    delete: str | None
    immutable: bool
    matcher: Any = field(compare=False, repr=False)

    @classmethod
    def of(cls, row: rows.TagRuleRow) -> Rule:
        return cls(
            row.id,
            row.tag_name_pattern,
            row.minimum_access_level_for_push,
            row.minimum_access_level_for_delete,
            row.immutable,
            compile_pattern(row.tag_name_pattern),
        )

    def matches(self, tag: str) -> bool:
        try:
            return self.matcher.fullmatch(tag) is not None
        except UnicodeEncodeError:  # not a tag name any push could have made
            return False

    def level(self, action: str) -> int:
        """The least level this rule lets ``action`` ("push" or "delete"); above admin
        for an immutable rule, which lets no one."""
        if self.immutable:
            return LEVELS["admin"] + 1
        name = self.push if action == "push" else self.delete
        return LEVELS.get(name or "maintainer", LEVELS["maintainer"])

    @property
    def named(self) -> str:
        return f"rule {self.id} (tag_name_pattern '{self.pattern}')"


@dataclass(frozen=True, slots=True)
class Protection:
    """What the rules matching one tag add up to (for badges and listings)."""

    immutable: bool
    minimum_access_level_for_push: str | None
    minimum_access_level_for_delete: str | None
    rule_ids: tuple[int, ...]

    @property
    def label(self) -> str:
        return "immutable" if self.immutable else "protected"

    @property
    def summary(self) -> str:
        if self.immutable:
            return "no one may move or delete this tag"
        return (
            f"{self.minimum_access_level_for_push} and above may push it, "
            f"{self.minimum_access_level_for_delete} and above may delete it"
        )


def _strictest(rules: Sequence[Rule], action: str) -> Rule:
    return max(rules, key=lambda r: (r.level(action), -r.id))


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A project's rules, compiled; a repository with no rules gets None, not an empty set."""

    project: str
    rules: tuple[Rule, ...]

    @classmethod
    def of(cls, project: str, found: Iterable[rows.TagRuleRow]) -> RuleSet | None:
        rules = tuple(Rule.of(row) for row in found)
        return cls(project, rules) if rules else None

    def matching(self, tag: str) -> list[Rule]:
        return [r for r in self.rules if r.matches(tag)]

    def may_apply(self, reference: str, delete: bool = False) -> bool:
        """Whether a push (or ``delete``) of ``reference`` could meet a rule. A push by
        digest creates no tag; a delete by digest takes the manifest's tags along, which
        only the database knows."""
        if looks_like_digest(reference):
            return delete
        return bool(self.matching(reference))

    def push_refusal(self, tag: str, level: int, exists: bool) -> tuple[Rule, str] | None:
        """Why creating (``exists`` false) or moving the tag is refused, or None. As in
        GitLab, the level is checked first; an immutable tag may still be created."""
        matching = self.matching(tag)
        guarded = [r for r in matching if not r.immutable]
        if guarded:
            rule = _strictest(guarded, "push")
            if level < rule.level("push"):
                return rule, _needs(tag, rule, "push", level)
        frozen = [r for r in matching if r.immutable]
        if exists and frozen:
            return frozen[0], _immutable(tag, frozen[0])
        return None

    def delete_refusal(self, tag: str, level: int) -> tuple[Rule, str] | None:
        matching = self.matching(tag)
        if not matching:
            return None
        rule = _strictest(matching, "delete")
        if rule.immutable:
            return rule, _immutable(tag, rule)
        if level < rule.level("delete"):
            return rule, _needs(tag, rule, "delete", level)
        return None

    def first_delete_refusal(self, tags: Iterable[str], level: int) -> str | None:
        """The message for the first of ``tags`` the caller may not delete, or None."""
        for tag in tags:
            refused = self.delete_refusal(tag, level)
            if refused is not None:
                return refused[1]
        return None

    def protection(self, tag: str) -> Protection | None:
        matching = self.matching(tag)
        if not matching:
            return None
        guarded = [r for r in matching if not r.immutable]
        push = _strictest(guarded, "push").push if guarded else None
        delete = _strictest(guarded, "delete").delete if guarded else None
        immutable = any(r.immutable for r in matching)
        return Protection(immutable, push, delete, tuple(r.id for r in matching))

    def cleanup_refusal(self, tag: str) -> str | None:
        """Why a cleanup policy keeps the tag, or None: cleanup never deletes a tag any
        rule matches, protected or immutable (GitLab's rule)."""
        matching = self.matching(tag)
        if not matching:
            return None
        rule = _strictest(matching, "delete")
        kind = "immutable" if rule.immutable else "protected"
        return f"{kind} by {rule.named}: cleanup policies never delete protected tags"

    def deletable_by_cleanup(self, tag: str) -> bool:
        return self.cleanup_refusal(tag) is None


def _needs(tag: str, rule: Rule, action: str, level: int) -> str:
    least = rule.push if action == "push" else rule.delete
    return (
        f"tag {tag} is protected by {rule.named}: only {least} and above may {action} it "
        f"(your access level: {role_name(level)})"
    )


def _immutable(tag: str, rule: Rule) -> str:
    return (
        f"tag {tag} is immutable by {rule.named}: no one may move or delete it "
        "until the rule is removed"
    )


def _denied(refused: tuple[Rule, str], tag: str) -> RegistryError:
    rule, message = refused
    detail = {"tag": tag, "rule_id": rule.id, "tag_name_pattern": rule.pattern}
    return RegistryError(Code.DENIED, message, detail)


@dataclass(frozen=True, slots=True)
class TagGuard:
    """The rules one push or delete must pass, and the caller's access level. The
    registry calls it inside the write's transaction, so what it reads stays true until
    the write commits."""

    rules: RuleSet
    level: int

    def check_push(self, session: object, repository_id: int, tag: str, digest: str) -> None:
        """403 DENIED unless the caller may point ``tag`` at ``digest``. Pointing it where
        it already points moves nothing and is always allowed (a re-push)."""
        if not self.rules.matching(tag):
            return
        rows.lock_repository(session, repository_id)
        current = rows.tag_digest(session, repository_id, tag)
        if current == digest:
            return
        refused = self.rules.push_refusal(tag, self.level, exists=current is not None)
        if refused is not None:
            raise _denied(refused, tag)

    def check_delete(
        self, session: object, repository_id: int, tag: str | None, digest: object | None
    ) -> None:
        """A delete by tag or by digest (exactly one is given)."""
        if tag is not None:
            self.check_tag_delete(session, repository_id, tag)
        else:
            self.check_manifest_delete(session, repository_id, str(digest))

    def check_tag_delete(self, session: object, repository_id: int, tag: str) -> None:
        """403 DENIED when the tag exists and the caller may not delete it."""
        refused = self.rules.delete_refusal(tag, self.level)
        if refused is None:
            return
        rows.lock_repository(session, repository_id)
        if rows.tag_digest(session, repository_id, tag) is not None:
            raise _denied(refused, tag)

    def check_manifest_delete(self, session: object, repository_id: int, digest: str) -> None:
        """403 DENIED when a tag on the manifest may not be deleted by the caller (deleting
        a manifest deletes its tags). The manifest stays locked until the delete commits."""
        tags = rows.locked_manifest_tags(session, repository_id, digest)
        for tag in tags:
            refused = self.rules.delete_refusal(tag, self.level)
            if refused is not None:
                raise _denied(refused, tag)
