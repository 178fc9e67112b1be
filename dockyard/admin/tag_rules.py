"""A project's tag protection rules: list, add and remove them (the REST API, the UI and
the CLI all come here).

GitLab's rules where its documentation states them: Maintainers manage protection
rules and Owners immutable ones; a pattern is RE2 of at most 100 characters; the least
level to push or delete is ``maintainer``, ``owner`` or ``admin``; a project has at most
five rules of each kind; an immutable rule names no levels (no one may pass it) and a
rule is never edited, only removed and added again. Dockyard adds one: no one adds or
removes a rule stronger than their own access level, so a Maintainer cannot lift a rule
an Owner set.
"""

from __future__ import annotations

from dockyard.admin import AdminError, Conflict, Forbidden, NotFound
from dockyard.admin.tag_protection import TagProtection
from dockyard.auth import policy as roles
from dockyard.db.engine import Database
from dockyard.db.queries import protection as rows
from dockyard.db.queries import tokens as audit_rows
from dockyard.db.records import ProjectRecord
from dockyard.registry.protection import LEVELS, InvalidPattern, compile_pattern, role_name

MAX_RULES = 5  # of each kind, per project (GitLab's limit)
FIELDS = ("minimum_access_level_for_push", "minimum_access_level_for_delete")


def validate(pattern: object, push: object, delete: object, immutable: object) -> None:
    """An AdminError naming the field, unless these make a rule."""
    if not isinstance(pattern, str):
        raise AdminError("tag_name_pattern must be a string (an RE2 regular expression)")
    try:
        compile_pattern(pattern)
    except InvalidPattern as error:
        raise AdminError(str(error)) from None
    if not isinstance(immutable, bool):
        raise AdminError("immutable must be true or false")
    levels = dict(zip(FIELDS, (push, delete), strict=True))
    if immutable:
        given = [name for name, value in levels.items() if value is not None]
        if given:
            raise AdminError(
                f"an immutable rule takes no {' or '.join(given)}: no one may move or delete "
                "its tags"
            )
        return
    for name, value in levels.items():
        if value not in LEVELS:
            raise AdminError(f"{name} must be one of {', '.join(LEVELS)} for a protection rule")


def _describe(rule: rows.TagRuleRow) -> str:
    if rule.immutable:
        return f"immutable tags '{rule.tag_name_pattern}'"
    return (
        f"protected tags '{rule.tag_name_pattern}': push {rule.minimum_access_level_for_push}+,"
        f" delete {rule.minimum_access_level_for_delete}+"
    )


def _check_level(
    project: ProjectRecord, immutable: bool, levels: tuple[str | None, ...], level: int
) -> None:
    """Forbidden unless a caller at ``level`` may add or remove such a rule."""
    if immutable:
        if level < roles.OWNER:
            raise Forbidden(f"only an Owner of {project.path} may add or remove immutable rules")
        return
    needed = max(LEVELS[name] for name in levels if name is not None)
    if level < needed:
        raise Forbidden(
            f"only {role_name(needed)} and above may add or remove a rule that requires "
            f"{role_name(needed)} (your access level in {project.path}: {role_name(level)})"
        )


class TagRules:
    def __init__(self, db: Database, protection: TagProtection) -> None:
        self._db = db
        self._protection = protection  # its cache is dropped after every change

    def list(self, project: ProjectRecord) -> list[rows.TagRuleRow]:
        with self._db.session() as conn:
            return rows.rules_of(conn, project.id)

    def add(
        self,
        project: ProjectRecord,
        pattern: str,
        push: str | None,
        delete: str | None,
        immutable: bool,
        level: int,
        actor: str,
    ) -> rows.TagRuleRow:
        """A new rule; ``level``: the caller's access level in the project, ``actor``:
        how the audit log names them."""
        validate(pattern, push, delete, immutable)
        _check_level(project, immutable, (push, delete), level)
        kind = "immutable" if immutable else "protection"
        with self._db.session(write=True) as conn:
            if rows.count_rules(conn, project.id, immutable) >= MAX_RULES:
                raise AdminError(
                    f"{project.path} has {MAX_RULES} {kind} rules, the most a project may "
                    "have: remove one first"
                )
            added = rows.add_rule(conn, project.id, pattern, push, delete, immutable, actor)
            if added is None:
                raise Conflict(f"{project.path} already has a {kind} rule for '{pattern}'")
            audit_rows.audit(
                conn,
                actor,
                "tag_rule_added",
                f"{project.path}:rule {added.id}",
                None,
                _describe(added),
            )
        self._protection.forget()
        return added

    def remove(self, project: ProjectRecord, rule_id: int, level: int, actor: str) -> None:
        with self._db.session(write=True) as conn:
            found = rows.rule(conn, project.id, rule_id)
            if found is None:
                raise NotFound(f"no tag protection rule {rule_id} in {project.path}")
            levels = (found.minimum_access_level_for_push, found.minimum_access_level_for_delete)
            _check_level(project, found.immutable, levels, level)
            rows.delete_rule(conn, project.id, rule_id)
            audit_rows.audit(
                conn,
                actor,
                "tag_rule_removed",
                f"{project.path}:rule {rule_id}",
                None,
                _describe(found),
            )
        self._protection.forget()
