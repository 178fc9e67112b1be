"""``dockyard gc``: a full garbage collection pass now, beside the server's own passes.

Exit codes: 0 the pass ran (whatever it found); 1 it could not run (no database, say).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import typer

from dockyard.cli.output import OUTPUT, Output, human_size, progress_bar, table
from dockyard.config import load_settings

CONFIG = typer.Option(None, "--config", "-c", help="YAML file of settings ($DOCKYARD_CONFIG).")


def register(app: typer.Typer) -> None:
    app.command("gc")(gc)


def gc(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what would be removed; change nothing."
    ),
    now: bool = typer.Option(
        False,
        "--now",
        help="Ignore gc_review_delay_seconds: remove everything unreferenced at once "
        "(only when no push is under way that could still reference it).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Counts per repository."),
    output: Output = OUTPUT,
    config: Path | None = CONFIG,
) -> None:
    """Remove manifests, blob links, blobs and stored bytes that nothing references.

    Safe while the server runs: every deletion is checked again under a lock. Without
    --now, what lost its last reference less than gc_review_delay_seconds ago is only
    queued (the server's own passes take it when it comes due).
    """
    from dockyard.db.engine import Database
    from dockyard.db.queries import gc as gc_rows
    from dockyard.db.queries import tokens as audit_rows
    from dockyard.registry.gc import Collector
    from dockyard.storage import open_store

    settings = load_settings(config)
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    delay = timedelta(0) if now else timedelta(seconds=settings.gc_review_delay_seconds)
    collector = Collector(db, open_store(settings), untagged=settings.gc_untagged_manifests)
    try:
        with db.session() as conn:
            queued_before = sum(gc_rows.queue_sizes(conn).values())
        with progress_bar("garbage collection") as (start, advance):
            start(queued_before or None)
            removed, queued = collector.full_pass(
                delay, dry_run=dry_run, progress=lambda _phase, n: advance(n)
            )
        if not dry_run and (removed.manifests or removed.blobs or removed.orphans):
            with db.session(write=True) as conn:
                audit_rows.audit(
                    conn, "dockyard gc", "gc", "registry", None, json.dumps(removed.as_dict())
                )
    except Exception as error:  # no database, no schema, unreadable store: say so
        typer.secho(f"error: garbage collection could not run: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    result = {"dry_run": dry_run, "queued": queued, **removed.as_dict(verbose)}
    if output is Output.json:
        typer.echo(json.dumps(result, indent=2))
        return
    verb = "would remove" if dry_run else "removed"
    typer.echo(
        f"{verb} {removed.manifests} manifests ({human_size(removed.manifest_bytes)}), "
        f"{removed.blob_links} blob links, {removed.blobs} blobs "
        f"({human_size(removed.blob_bytes)}), {removed.orphans} orphaned files "
        f"({human_size(removed.orphan_bytes)})"
    )
    if queued:
        typer.echo(f"queued {queued} newly unreferenced objects (due in {delay})")
    if verbose and removed.per_repository:
        rows = [{"repository": name, **counts} for name, counts in result["per_repository"].items()]
        typer.echo(table(rows, ["repository", "manifests", "blob_links"]))
