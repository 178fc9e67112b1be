"""``dockyard vulndb``: import OSV advisories and show what is loaded."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from dockyard.cli.output import OUTPUT, Output, fail, progress_bar, render, render_object
from dockyard.config import load_settings

CONFIG = typer.Option(None, "--config", "-c", help="YAML file of settings ($DOCKYARD_CONFIG).")

vulndb_app = typer.Typer(no_args_is_help=True, help="Vulnerability advisories (OSV).")


def register(app: typer.Typer) -> None:
    app.add_typer(vulndb_app, name="vulndb")


@vulndb_app.command("import")
def import_(
    paths: list[Path] = typer.Argument(
        ..., help="OSV JSON files, folders of them (recursive), or osv.dev zip exports."
    ),
    output: Output = OUTPUT,
    config: Path | None = CONFIG,
) -> None:
    """Load advisories; a record replaces the stored one only if its 'modified' is newer."""
    from dockyard.db.engine import Database
    from dockyard.vulndb.importer import SourceNotFound, import_paths

    settings = load_settings(config)
    logging.basicConfig(level=logging.WARNING)
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    db.migrate()  # importing before the first `serve` is a normal first step
    try:
        with _progress_bar() as progress:
            summary = import_paths(db, paths, progress=progress)
    except SourceNotFound as error:
        fail(str(error), "Give OSV JSON files, folders of them, or zip archives.")
    finally:
        db.dispose()
    if output is Output.json:
        render_object(summary.as_dict())
        return
    typer.echo(
        f"added {summary.added}, updated {summary.updated}, withdrawn {summary.withdrawn}, "
        f"unchanged {summary.unchanged}, skipped (unsupported ecosystem) {summary.skipped}"
        + (f", invalid {summary.invalid}" if summary.invalid else "")
    )
    typer.echo(f"packages with changed advisories: {len(summary.changed)}")


@vulndb_app.command("status")
def status(output: Output = OUTPUT, config: Path | None = CONFIG) -> None:
    """Advisories per ecosystem and the time of the last import."""
    from dockyard.db.engine import Database
    from dockyard.vulndb.store import advisory_status

    settings = load_settings(config)
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    try:
        state = advisory_status(db)
    finally:
        db.dispose()
    if output is Output.json:
        render_object(
            {
                "ecosystems": state.per_ecosystem,
                "advisories": state.advisories,
                "withdrawn": state.withdrawn,
                "last_import": state.last_import,
            }
        )
        return
    rows = [{"ecosystem": e, "advisories": n} for e, n in state.per_ecosystem.items()]
    render(rows, ["ecosystem", "advisories"], output)
    last = state.last_import.strftime("%Y-%m-%d %H:%M UTC") if state.last_import else "never"
    typer.echo(f"\n{state.advisories} advisories ({state.withdrawn} withdrawn)")
    typer.echo(f"last import: {last}")


@contextmanager
def _progress_bar() -> Iterator[Any]:
    from dockyard.vulndb.importer import Progress as Hooks

    with progress_bar("importing advisories", counts_bytes=False) as (start, advance):
        yield Hooks(start=start, advance=advance)
