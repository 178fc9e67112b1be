"""``dockyard protection list|add|remove PROJECT``: a project's protected and immutable
tags. The CLI acts as the server's operator, with an admin's access level."""

from __future__ import annotations

from enum import StrEnum

import typer

from dockyard.cli.admin_commands import PROJECT_PATH, database
from dockyard.cli.output import OUTPUT, Output, render, render_object

protection_app = typer.Typer(
    no_args_is_help=True,
    help="Protected and immutable tags: who may push or delete the tags a pattern matches.",
)
COLUMNS = (
    "id",
    "tag_name_pattern",
    "immutable",
    "minimum_access_level_for_push",
    "minimum_access_level_for_delete",
    "created_by",
    "created_at",
)
NOT_FOUND_HINT = (
    "See the projects with 'dockyard project list' and a project's rules with "
    "'dockyard protection list PROJECT'."
)


class Level(StrEnum):
    maintainer = "maintainer"
    owner = "owner"
    admin = "admin"


def register(app: typer.Typer) -> None:
    app.add_typer(protection_app, name="protection")


def _rules(db):  # noqa: ANN001, ANN202 - the service over the CLI's database
    from dockyard.admin.tag_protection import TagProtection
    from dockyard.admin.tag_rules import TagRules

    return TagRules(db, TagProtection(db))


def _row(rule) -> dict:  # noqa: ANN001
    return {column: getattr(rule, column) for column in COLUMNS}


@protection_app.command("list")
def protection_list(project: str = PROJECT_PATH, output: Output = OUTPUT) -> None:
    """List the project's tag protection rules, oldest first."""
    from dockyard.admin.accounts import find_project

    with database(NOT_FOUND_HINT) as db:
        found = _rules(db).list(find_project(db, project))
    render([_row(rule) for rule in found], COLUMNS, output)


@protection_app.command("add")
def protection_add(
    project: str = PROJECT_PATH,
    pattern: str = typer.Option(
        ..., "--pattern", help="RE2 expression matched against whole tag names, e.g. 'v.*'."
    ),
    push_level: Level | None = typer.Option(
        None, "--push-level", help="Least role that may create or move a matching tag."
    ),
    delete_level: Level | None = typer.Option(
        None, "--delete-level", help="Least role that may delete a matching tag."
    ),
    immutable: bool = typer.Option(
        False, "--immutable", help="Matching tags are created once, then never moved or deleted."
    ),
    output: Output = OUTPUT,
) -> None:
    """Protect the tags PATTERN matches in every repository of PROJECT.

    A protection rule needs --push-level and --delete-level; an immutable rule takes
    neither. Running servers apply the rule within 5 seconds."""
    from dockyard.admin.accounts import find_project
    from dockyard.auth.policy import ADMIN

    with database(NOT_FOUND_HINT) as db:
        rule = _rules(db).add(
            find_project(db, project),
            pattern,
            push_level.value if push_level else None,
            delete_level.value if delete_level else None,
            immutable,
            ADMIN,
            "cli",
        )
    if output == Output.json:
        render_object(_row(rule))
        return
    what = "immutable" if rule.immutable else "protected"
    typer.echo(f"added rule {rule.id}: tags matching '{rule.tag_name_pattern}' are {what}")


@protection_app.command("remove")
def protection_remove(
    project: str = PROJECT_PATH,
    rule_id: int = typer.Argument(..., min=1, max=2_147_483_647, help="The rule's id (see list)."),
) -> None:
    """Remove a rule: the tags it matched may move and be deleted again."""
    from dockyard.admin.accounts import find_project
    from dockyard.auth.policy import ADMIN

    with database(NOT_FOUND_HINT) as db:
        _rules(db).remove(find_project(db, project), rule_id, ADMIN, "cli")
    typer.echo(f"removed rule {rule_id} from {project}")
