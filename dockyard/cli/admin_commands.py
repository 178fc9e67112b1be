"""Administration commands: users, groups, projects, members, tokens."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import typer

from dockyard.cli.output import OUTPUT, Output, fail, render, render_object
from dockyard.config import Settings, load_settings

user_app = typer.Typer(no_args_is_help=True, help="People who log in.")
group_app = typer.Typer(no_args_is_help=True, help="Groups (nested namespaces).")
project_app = typer.Typer(no_args_is_help=True, help="Projects: where images live.")
member_app = typer.Typer(no_args_is_help=True, help="Roles of users in groups and projects.")
token_app = typer.Typer(no_args_is_help=True, help="Personal, deploy and CI job tokens.")

USERNAME = typer.Argument(..., help="Login name of the user.")
PROJECT_PATH = typer.Argument(..., help="Project path, e.g. acme/app.")
NOT_FOUND_HINT = (
    "See what exists with 'dockyard user list', 'dockyard group list' or 'dockyard project list'."
)
NO_DATABASE_HINT = (
    "Check DOCKYARD_DATA_DIR / DOCKYARD_DATABASE_URL point at the server's data, "
    "and run 'dockyard setup' (or start 'dockyard serve' once) to create the schema."
)


class Visibility(StrEnum):
    private = "private"
    internal = "internal"
    public = "public"


class Role(StrEnum):
    guest = "guest"
    reporter = "reporter"
    developer = "developer"
    maintainer = "maintainer"
    owner = "owner"


class TokenKind(StrEnum):
    personal = "personal"
    deploy = "deploy"
    job = "job"


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
def database(not_found_hint: str = NOT_FOUND_HINT) -> Iterator[Any]:
    """The configured database; admin and database errors become a message and exit 1."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from dockyard.admin import AdminError, NotFound
    from dockyard.db.engine import Database, DatabaseUnavailable
    from dockyard.shared import attach, open_shared
    from dockyard.validation import InvalidInput

    settings = load_settings()
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    shared = attach(db, open_shared(settings))  # the CLI's changes reach the replicas too
    try:
        yield db
    except NotFound as error:
        fail(str(error), not_found_hint)
    except (AdminError, InvalidInput) as error:
        fail(str(error), "Run the command with --help to see what it accepts.")
    except (OperationalError, ProgrammingError) as error:
        fail(f"cannot use the database: {error.orig}", NO_DATABASE_HINT)
    except DatabaseUnavailable as error:
        fail(f"cannot use the database: {error}", NO_DATABASE_HINT)
    finally:
        db.dispose()
        shared.close()


def registry_host(settings: Settings) -> str:
    """host:port clients reach the registry at (a wildcard bind is reached on loopback)."""
    if settings.public_url:
        return settings.public_url.split("://")[-1].rstrip("/")
    if settings.host in ("0.0.0.0", "::", "[::]", ""):
        return f"127.0.0.1:{settings.port}"
    return settings.listen


def insecure_flag(settings: Settings) -> str:
    """``--tls-verify=false `` for clients when the registry speaks plain HTTP; nothing
    when it serves TLS itself or sits behind an https public_url."""
    if settings.tls or settings.public_url.startswith("https://"):
        return ""
    return "--tls-verify=false "


def _registry_host() -> str:
    return registry_host(load_settings())


def _insecure() -> str:
    return insecure_flag(load_settings())


def _login_hint(username: str) -> str:
    return f"next: podman login {_insecure()}-u {username} {_registry_host()}"


@user_app.command("create")
def user_create(
    username: str = USERNAME,
    email: str = typer.Option(..., help="Contact address."),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="The password (asked for when not given).",
    ),
    admin: bool = typer.Option(False, help="Make this user an administrator."),
) -> None:
    """Create a user (and their personal namespace)."""
    from dockyard.admin.accounts import create_user

    with database() as db:
        create_user(db, username, email, password, admin, load_settings().password_min_length)
    typer.echo(f"created user {username}\n{_login_hint(username)}")


@user_app.command("set-password")
def user_set_password(
    username: str = USERNAME,
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the new password from standard input (one line) instead of a prompt.",
    ),
) -> None:
    """Set a user's password (an administrator's reset): every web session of theirs
    ends and the old password stops working on the registry at once."""
    from dockyard.admin.accounts import reset_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with database() as db:
        reset_password(
            db, username, password, actor="cli", min_length=load_settings().password_min_length
        )
    typer.echo(f"password of {username} changed; their sessions were signed out")


@user_app.command("list")
def user_list(output: Output = OUTPUT) -> None:
    """List every user with their flags."""
    from dockyard.admin.accounts import list_users

    with database() as db:
        users = list_users(db)
    rows = [
        {
            "id": u.id,
            "username": u.username,
            "email": u.email,
            "admin": u.is_admin,
            "blocked": u.is_blocked,
        }
        for u in users
    ]
    render(rows, ("id", "username", "email", "admin", "blocked"), output)


def _flag(setter: Callable[..., Any], username: str, message: str, **flags: bool) -> None:
    with database() as db:
        setter(db, username, **flags)
    typer.echo(message)


@user_app.command("block")
def user_block(username: str = USERNAME) -> None:
    """Stop a user (and every token of theirs) from getting in."""
    from dockyard.admin.accounts import set_user_flags

    _flag(set_user_flags, username, f"blocked {username}", blocked=True)


@user_app.command("unblock")
def user_unblock(username: str = USERNAME) -> None:
    """Let a blocked user (and their tokens) in again."""
    from dockyard.admin.accounts import set_user_flags

    _flag(set_user_flags, username, f"unblocked {username}", blocked=False)


@group_app.command("create")
def group_create(
    path: str = typer.Argument(..., help="Group path; 'parent/child' makes a subgroup."),
) -> None:
    """Create a group; 'parent/child' creates a subgroup."""
    from dockyard.admin.accounts import create_group

    with database() as db:
        create_group(db, path)
    typer.echo(f"created group {path}\nnext: dockyard project create {path}/<name>")


@group_app.command("list")
def group_list(output: Output = OUTPUT) -> None:
    """List every group and subgroup."""
    from dockyard.admin.accounts import list_groups

    with database() as db:
        paths = list_groups(db)
    render([{"path": p} for p in paths], ("path",), output)


@project_app.command("create")
def project_create(
    path: str = typer.Argument(..., help="NAMESPACE/NAME: a group path or username, then a name."),
    visibility: Visibility = typer.Option(Visibility.private, help="Who may pull without a role."),
) -> None:
    """Create a project in a group or a user's namespace."""
    from dockyard.admin.accounts import create_project

    with database() as db:
        create_project(db, path, visibility.value)
    typer.echo(
        f"created {visibility.value} project {path}\n"
        f"next: podman push {_insecure()}IMAGE {_registry_host()}/{path}/IMAGE:TAG"
    )


@project_app.command("list")
def project_list(output: Output = OUTPUT) -> None:
    """List every project with its visibility."""
    from dockyard.admin.accounts import list_projects

    with database() as db:
        projects = list_projects(db)
    rows = [{"id": p.id, "path": p.path, "visibility": p.visibility} for p in projects]
    render(rows, ("id", "path", "visibility"), output)


@project_app.command("visibility")
def project_visibility(
    path: str = PROJECT_PATH,
    visibility: Visibility = typer.Argument(..., help="Who may pull without a role."),
) -> None:
    """Change who may see and pull a project."""
    from dockyard.admin.accounts import set_visibility

    with database() as db:
        set_visibility(db, path, visibility.value)
    typer.echo(f"{path} is now {visibility.value}")


@member_app.command("add")
def member_add(
    username: str = USERNAME,
    path: str = typer.Argument(..., help="Project or group path."),
    role: Role = typer.Argument(..., help="What the user may do there."),
) -> None:
    """Give USERNAME a ROLE (guest, reporter, developer, maintainer, owner) in PATH.

    Also changes an existing member's role; the last Owner is never demoted.
    """
    from dockyard.admin.members import add_member

    with database() as db:
        add_member(db, username, path, role.value)
    typer.echo(f"{username} is {role.value} in {path}")


@member_app.command("remove")
def member_remove(
    username: str = USERNAME,
    path: str = typer.Argument(..., help="Project or group path."),
) -> None:
    """Take USERNAME's direct membership of PATH away (never the last Owner's)."""
    from dockyard.admin.members import remove_member

    with database() as db:
        remove_member(db, username, path)
    typer.echo(f"{username} is no longer a member of {path}")


@member_app.command("list")
def member_list(
    path: str = typer.Argument(..., help="Project or group path."),
    output: Output = OUTPUT,
) -> None:
    """List the direct members of a project or group with their roles."""
    from dockyard.admin.members import list_members

    with database() as db:
        members = list_members(db, path)
    render([{"username": u, "role": r} for u, r in members], ("username", "role"), output)


@token_app.command("create")
def token_create(
    kind: TokenKind = typer.Argument(..., help="personal, deploy or job."),
    user: str = typer.Option(None, help="Owner (personal) or the job's user (job)."),
    project: str = typer.Option(None, help="Project (or group, for deploy tokens)."),
    name: str = typer.Option("cli", help="A label to recognise the token by."),
    scope: list[str] = typer.Option(
        ["read_registry"], help="read_registry, write_registry or api; repeat for several."
    ),
    expires_in_days: int = typer.Option(0, min=0, help="Days until it expires (0: never)."),
    username: str = typer.Option(None, help="Login name of a deploy token."),
    ttl: int = typer.Option(
        0, min=0, help="Seconds a job token lives (0: the job_token_ttl_seconds setting)."
    ),
    output: Output = OUTPUT,
) -> None:
    """Create a token; the secret is printed once ('-o json': an object with "token")."""
    from dockyard.admin import tokens as admin_tokens

    if kind == TokenKind.personal and not user:
        raise typer.BadParameter("a personal token needs --user", param_hint="--user")
    if kind == TokenKind.deploy and not project:
        raise typer.BadParameter("a deploy token needs --project", param_hint="--project")
    if kind == TokenKind.job and not (project and user):
        raise typer.BadParameter("a job token needs --project and --user", param_hint="--project")
    from dockyard.validation import expiry_in_days

    with database() as db:
        expires = expiry_in_days(expires_in_days, datetime.now(UTC), "--expires-in-days")
        if kind == TokenKind.personal:
            issued = admin_tokens.create_personal(db, user, name, scope, expires)
        elif kind == TokenKind.deploy:
            issued = admin_tokens.create_deploy(db, project, name, scope, username, expires)
        else:
            seconds = ttl or load_settings().job_token_ttl_seconds
            issued = admin_tokens.create_job(db, project, user, seconds)
    if output == Output.json:
        record = issued.record
        row = {
            "id": record.id,
            "kind": record.kind,
            "username": issued.username,
            "scopes": record.scopes.split(),
            "expires_at": record.expires_at,
            "token": issued.secret,
        }
        render_object(row)
        return
    typer.echo(
        f"token {issued.record.id} ({kind.value}) for {issued.username}: {issued.secret}\n"
        "This secret is shown once.\n"
        f"next: echo $TOKEN | podman login {_insecure()}-u {issued.username} "
        f"--password-stdin {_registry_host()}"
    )


@token_app.command("list")
def token_list(
    user: str = typer.Option(None, help="Only this user's tokens."),
    project: str = typer.Option(None, help="Only this project's tokens."),
    output: Output = OUTPUT,
) -> None:
    """List tokens (never their secrets) with their scopes and state."""
    from dockyard.admin.accounts import list_users
    from dockyard.admin.tokens import list_tokens

    with database() as db:
        tokens = list_tokens(db, username=user, project=project)
        owners = {u.id: u.username for u in list_users(db)}
    # username: a deploy token's login name, else the user the token acts for.
    rows = [
        {
            "id": t.id,
            "kind": t.kind,
            "name": t.name,
            "username": t.username or owners.get(t.user_id or 0),
            "hint": f"{t.hint}…",
            "scopes": t.scopes.split(),
            "state": "revoked" if t.revoked_at else "active",
            "expires_at": t.expires_at,
            "last_used_at": t.last_used_at,
        }
        for t in tokens
    ]
    columns = (
        "id",
        "kind",
        "name",
        "username",
        "hint",
        "scopes",
        "state",
        "expires_at",
        "last_used_at",
    )
    render(rows, columns, output)


@token_app.command("revoke")
def token_revoke(
    token_id: int = typer.Argument(..., help="The token's id, as 'dockyard token list' shows."),
) -> None:
    """Revoke a token: it can no longer be used."""
    from dockyard.admin.tokens import revoke

    with database("See the ids of active tokens with 'dockyard token list'.") as db:
        revoke(db, token_id)
    typer.echo(f"revoked token {token_id}")
