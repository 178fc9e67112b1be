"""Administration commands: users, groups, projects, members, tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer

from dockyard.config import load_settings

user_app = typer.Typer(no_args_is_help=True, help="People who log in.")
group_app = typer.Typer(no_args_is_help=True, help="Groups (nested namespaces).")
project_app = typer.Typer(no_args_is_help=True, help="Projects: where images live.")
member_app = typer.Typer(no_args_is_help=True, help="Roles of users in groups and projects.")
token_app = typer.Typer(no_args_is_help=True, help="Personal, deploy and CI job tokens.")


def register(app: typer.Typer) -> None:
    for name, sub in (
        ("user", user_app),
        ("group", group_app),
        ("project", project_app),
        ("member", member_app),
        ("token", token_app),
    ):
        app.add_typer(sub, name=name)


@contextmanager
def database() -> Iterator[Any]:
    """The configured database; admin errors become a clean message and exit code 1."""
    from dockyard.admin import AdminError
    from dockyard.db.engine import Database
    from dockyard.validation import InvalidInput

    settings = load_settings()
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    try:
        yield db
    except (AdminError, InvalidInput) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()


def _registry_host() -> str:
    settings = load_settings()
    return settings.public_url.split("://")[-1].rstrip("/") or settings.listen


def _login_hint(username: str) -> str:
    return f"next: podman login --tls-verify=false -u {username} {_registry_host()}"


@user_app.command("create")
def user_create(
    username: str,
    email: str = typer.Option(..., help="Contact address."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    admin: bool = typer.Option(False, help="Make this user an administrator."),
) -> None:
    """Create a user (and their personal namespace)."""
    from dockyard.admin.accounts import create_user

    with database() as db:
        create_user(db, username, email, password, admin)
    typer.echo(f"created user {username}\n{_login_hint(username)}")


@user_app.command("list")
def user_list() -> None:
    from dockyard.admin.accounts import list_users

    with database() as db:
        for user in list_users(db):
            flags = ",".join(
                f for f, on in (("admin", user.is_admin), ("blocked", user.is_blocked)) if on
            )
            typer.echo(f"{user.username}\t{user.email}\t{flags}")


def _flag(setter: Callable[..., Any], username: str, message: str, **flags: bool) -> None:
    with database() as db:
        setter(db, username, **flags)
    typer.echo(message)


@user_app.command("block")
def user_block(username: str) -> None:
    """Stop a user (and every token of theirs) from getting in."""
    from dockyard.admin.accounts import set_user_flags

    _flag(set_user_flags, username, f"blocked {username}", blocked=True)


@user_app.command("unblock")
def user_unblock(username: str) -> None:
    from dockyard.admin.accounts import set_user_flags

    _flag(set_user_flags, username, f"unblocked {username}", blocked=False)


@group_app.command("create")
def group_create(path: str) -> None:
    """Create a group; 'parent/child' creates a subgroup."""
    from dockyard.admin.accounts import create_group

    with database() as db:
        create_group(db, path)
    typer.echo(f"created group {path}\nnext: dockyard project create {path}/<name>")


@project_app.command("create")
def project_create(
    path: str,
    visibility: str = typer.Option("private", help="private, internal or public."),
) -> None:
    """Create a project in a group or a user's namespace."""
    from dockyard.admin.accounts import create_project

    with database() as db:
        create_project(db, path, visibility)
    typer.echo(
        f"created {visibility} project {path}\n"
        f"next: podman push --tls-verify=false IMAGE {_registry_host()}/{path}/IMAGE:TAG"
    )


@project_app.command("list")
def project_list() -> None:
    from dockyard.admin.accounts import list_projects

    with database() as db:
        for project in list_projects(db):
            typer.echo(f"{project.path}\t{project.visibility}")


@project_app.command("visibility")
def project_visibility(path: str, visibility: str) -> None:
    from dockyard.admin.accounts import set_visibility

    with database() as db:
        set_visibility(db, path, visibility)
    typer.echo(f"{path} is now {visibility}")


@member_app.command("add")
def member_add(username: str, path: str, role: str) -> None:
    """Give USERNAME a ROLE (guest, reporter, developer, maintainer, owner) in PATH.

    Also changes an existing member's role; the last Owner is never demoted.
    """
    from dockyard.admin.members import add_member

    with database() as db:
        add_member(db, username, path, role)
    typer.echo(f"{username} is {role} in {path}")


@member_app.command("remove")
def member_remove(username: str, path: str) -> None:
    """Take USERNAME's direct membership of PATH away (never the last Owner's)."""
    from dockyard.admin.members import remove_member

    with database() as db:
        remove_member(db, username, path)
    typer.echo(f"{username} is no longer a member of {path}")


@token_app.command("create")
def token_create(
    kind: str = typer.Argument(..., help="personal, deploy or job."),
    user: str = typer.Option(None, help="Owner (personal) or the job's user (job)."),
    project: str = typer.Option(None, help="Project (or group, for deploy tokens)."),
    name: str = typer.Option("cli", help="A label to recognise the token by."),
    scope: list[str] = typer.Option(["read_registry"], help="read_registry, write_registry, api."),
    expires_in_days: int = typer.Option(0, help="Days until it expires (0: never)."),
    username: str = typer.Option(None, help="Login name of a deploy token."),
    ttl: int = typer.Option(0, help="Seconds a job token lives (default: job_token_ttl)."),
) -> None:
    """Create a token; the secret is printed once."""
    from dockyard.admin import AdminError
    from dockyard.admin import tokens as admin_tokens
    from dockyard.validation import expiry_in_days

    with database() as db:
        expires = expiry_in_days(expires_in_days, datetime.now(UTC), "--expires-in-days")
        if kind == "personal" and user:
            issued = admin_tokens.create_personal(db, user, name, scope, expires)
        elif kind == "deploy" and project:
            issued = admin_tokens.create_deploy(db, project, name, scope, username, expires)
        elif kind == "job" and project and user:
            seconds = ttl or load_settings().job_token_ttl_seconds
            issued = admin_tokens.create_job(db, project, user, seconds)
        else:
            raise AdminError("personal needs --user; deploy needs --project; job needs both")
    typer.echo(
        f"token {issued.record.id} ({kind}) for {issued.username}: {issued.secret}\n"
        "This secret is shown once.\n"
        f"next: echo $TOKEN | podman login --tls-verify=false -u {issued.username} "
        f"--password-stdin {_registry_host()}"
    )


@token_app.command("list")
def token_list(
    user: str = typer.Option(None, help="Only this user's tokens."),
    project: str = typer.Option(None, help="Only this project's tokens."),
) -> None:
    from dockyard.admin.tokens import list_tokens

    with database() as db:
        for t in list_tokens(db, username=user, project=project):
            state = "revoked" if t.revoked_at else "active"
            typer.echo(f"{t.id}\t{t.kind}\t{t.name}\t{t.hint}…\t{t.scopes}\t{state}")


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    from dockyard.admin.tokens import revoke

    with database() as db:
        revoke(db, token_id)
    typer.echo(f"revoked token {token_id}")
