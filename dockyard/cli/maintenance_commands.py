"""Maintenance commands: check the blob store, back up and restore.

Exit codes: 0 all is well; 1 ``check`` found something wrong (or a backup or restore
was refused or failed, with the reason on stderr); 2 wrong usage, or the check could
not run at all (no database, say).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from dockyard.cli.output import OUTPUT, Output, human_size, progress_bar
from dockyard.config import load_settings

CONFIG = typer.Option(None, "--config", "-c", help="YAML file of settings ($DOCKYARD_CONFIG).")


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("backup")(backup)
    app.command("restore")(restore)


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg="red", err=True)
    return typer.Exit(1)


def check(
    repair: bool = typer.Option(
        False,
        "--repair",
        help="Remove orphaned blobs and stale upload files; mark missing and corrupt "
        "blobs unavailable (not served) until they are pushed again.",
    ),
    output: Output = OUTPUT,
    config: Path | None = CONFIG,
) -> None:
    """Verify every blob against its digest and the database.

    Reports missing (recorded, no bytes), corrupt (bytes do not match the digest or the
    recorded size), orphaned (bytes nobody recorded) blobs and stale upload files.
    Exits 1 if anything is still wrong afterwards, 0 if the store is clean.
    """
    from dockyard.admin.integrity import KINDS, check_integrity
    from dockyard.db.engine import Database
    from dockyard.storage import open_store

    settings = load_settings(config)
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    try:
        with _progress_bar() as progress:
            report = check_integrity(db, open_store(settings), repair=repair, progress=progress)
    except Exception as error:  # no database, no schema, unreadable store: say so, briefly
        typer.secho(f"error: the check could not run: {error}", fg="red", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    counts = {kind: report.count(kind) for kind in KINDS}
    if output is Output.json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "repaired": report.repaired,
                    "blobs_checked": report.blobs_checked,
                    "bytes_checked": report.bytes_checked,
                    "counts": counts,
                    **{k: [f.subject for f in report.findings if f.kind == k] for k in KINDS},
                    "findings": [asdict(f) for f in report.findings],
                },
                indent=2,
            )
        )
    else:
        for f in report.findings:
            action = f" [{f.action}]" if f.action else ""
            typer.echo(f"{f.kind:<13} {f.subject}  {f.detail}{action}")
        summary = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
        verdict = "clean" if report.ok else "PROBLEMS FOUND"
        typer.echo(
            f"checked {report.blobs_checked} blobs ({human_size(report.bytes_checked)}): "
            f"{summary} -> {verdict}"
        )
        if not report.ok and not repair:
            typer.echo("run 'dockyard check --repair' to fix what can be fixed", err=True)
    if not report.ok:
        raise typer.Exit(1)


@contextmanager
def _progress_bar() -> Iterator[Any]:
    from dockyard.admin.integrity import Progress as Hooks

    with progress_bar("checking blobs", counts_bytes=True) as (start, advance):
        yield Hooks(start=start, advance=advance)


def backup(
    dest: Path = typer.Argument(..., help="Folder to write the backup into (new or empty)."),
    with_blobs: bool = typer.Option(
        False,
        "--with-blobs",
        help="Also copy the blobs, after the database (hard links on the same filesystem).",
    ),
    output: Output = OUTPUT,
    config: Path | None = CONFIG,
) -> None:
    """Write a consistent copy of the database (safe while the server runs).

    SQLite is copied with its online backup API, PostgreSQL with pg_dump. Blobs are
    immutable: copy the blobs folder AFTER this (or use --with-blobs), so the copy never
    lacks a blob the database backup references.
    """
    from dockyard.admin import AdminError
    from dockyard.admin.backup import backup as run_backup

    settings = load_settings(config)
    try:
        info = run_backup(settings, dest, with_blobs=with_blobs)
    except AdminError as error:
        raise _fail(str(error)) from None
    if output is Output.json:
        typer.echo(json.dumps({"path": str(dest), **asdict(info)}, indent=2))
        return
    typer.echo(
        f"backed up the {info.database} database to {dest / info.database_file} "
        f"(schema {info.schema_revision}, {info.blob_count} blobs recorded)"
    )
    if info.blobs_copied is None:
        blobs = settings.data_dir.resolve() / "blobs"
        typer.echo(f"next, copy the blobs: rsync -a {blobs}/ {dest.resolve() / 'blobs'}/")
    else:
        typer.echo(f"copied {info.blobs_copied} blobs to {dest / 'blobs'}")


def restore(
    src: Path = typer.Argument(..., help="A folder written by 'dockyard backup'."),
    force: bool = typer.Option(
        False, "--force", help="Replace a database that already holds data."
    ),
    output: Output = OUTPUT,
    config: Path | None = CONFIG,
) -> None:
    """Restore a backup into the configured database and data folder (server stopped).

    Blobs in the backup's blobs folder are verified and copied into the store. Run
    'dockyard check' afterwards: it is clean when every recorded blob came back.
    """
    from dockyard.admin import AdminError
    from dockyard.admin.backup import restore as run_restore

    settings = load_settings(config)
    try:
        result = run_restore(settings, src, force=force)
    except AdminError as error:
        raise _fail(str(error)) from None
    if output is Output.json:
        typer.echo(
            json.dumps(
                {
                    "backup": asdict(result.backup),
                    "blobs_restored": result.blobs_restored,
                    "blobs_missing": result.blobs_missing,
                },
                indent=2,
            )
        )
        return
    info = result.backup
    typer.echo(
        f"restored the {info.database} database from {src} (taken {info.created_at}, "
        f"schema {info.schema_revision}); {result.blobs_restored} blobs restored"
    )
    if result.blobs_missing:
        typer.echo(
            f"{result.blobs_missing} recorded blobs are not in the store yet: copy the blobs "
            f"folder of the backup into {settings.data_dir.resolve() / 'blobs'}, "
            "then run dockyard check",
            err=True,
        )
    typer.echo("next: dockyard check, then dockyard serve")
