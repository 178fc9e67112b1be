"""Signing keys: ``dockyard keys list`` and ``dockyard keys rotate``.

The keys live in the database, so one command on any host rotates them for every
replica. Exit codes: 0 done; 1 the rotation was refused (the token key comes from
``signing_key_file``, or another rotation ran at the same moment); 2 wrong usage.
"""

from __future__ import annotations

from enum import StrEnum

import typer

from dockyard.cli.admin_commands import database
from dockyard.cli.output import OUTPUT, Output, fail, render

keys_app = typer.Typer(
    no_args_is_help=True,
    help="Registry token and web session signing keys, shared by every replica.",
)
COLUMNS = ("purpose", "kid", "generation", "state", "source", "created_at", "dropped_after")


class Purpose(StrEnum):
    token = "token"
    session = "session"
    all = "all"


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@keys_app.command("list")
def list_keys(output: Output = OUTPUT) -> None:
    """Every key that signs (current) or still verifies (verify-only, until dropped_after);
    never the secrets themselves."""
    from dockyard.auth.keys import listing
    from dockyard.config import load_settings

    settings = load_settings()
    with database() as db:
        rows = listing(db, settings)
    render(rows, COLUMNS, output)


@keys_app.command("rotate")
def rotate(
    purpose: Purpose = typer.Option(
        Purpose.all,
        "--purpose",
        help="Which key: token, session, or all (both).",
        case_sensitive=False,
    ),
    output: Output = OUTPUT,
) -> None:
    """Make a new key current. The previous one still verifies what it signed until that
    can no longer be alive (the longest token or session lifetime), then it is dropped;
    replicas sign with the new key within 30 seconds and accept it at once."""
    from dockyard.auth import keys
    from dockyard.config import load_settings

    settings = load_settings()
    wanted = [p for p in keys.PURPOSES if purpose in (Purpose.all, p)]
    if purpose is Purpose.all and keys.uses_file(settings, keys.TOKEN):
        typer.echo("the token key comes from signing_key_file: not rotated here", err=True)
        wanted.remove(keys.TOKEN)
    rotated = []
    with database() as db:
        for name in wanted:
            try:
                key = keys.rotate(db, settings, name)
            except keys.KeyRefused as error:
                fail(str(error))
            rotated.append(
                {
                    "purpose": name,
                    "kid": key.kid,
                    "generation": key.generation,
                    "state": "current",
                    "source": "database",
                    "created_at": key.created_at,
                }
            )
    render(rotated, COLUMNS[:-1], output)
