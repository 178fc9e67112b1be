"""Storage limits and usage: ``dockyard project|group set-limit`` and ``dockyard usage recount``.

Exit codes: 0 done (``recount``: every counter was exact); 1 what the command names does
not exist or the size is refused (``recount``: some counters were off, and were repaired
unless ``--dry-run``); 2 wrong usage.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from dockyard.cli.admin_commands import database, group_app, project_app
from dockyard.cli.output import OUTPUT, Output, progress_bar, render_object

usage_app = typer.Typer(no_args_is_help=True, help="Storage usage counters.")
SIZE = typer.Argument(
    ...,
    metavar="SIZE|none",
    help="A size with its unit: 1GiB, 500MiB (powers of 1024), 500MB, 2TB (powers of 1000), "
    "or bytes; 'none' removes the limit.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(usage_app, name="usage")
    project_app.command("set-limit")(project_set_limit)
    group_app.command("set-limit")(group_set_limit)


def _limit(text: str) -> int | None:
    from dockyard.sizes import parse_size

    return None if text.strip().lower() == "none" else parse_size(text, "SIZE")


def _report(kind: str, path: str, used: int, limit: int | None, output: Output) -> None:
    from dockyard.sizes import format_size

    if output is Output.json:
        render_object({"path": path, "storage_limit_bytes": limit, "storage_used_bytes": used})
        return
    shown = "no limit" if limit is None else f"{format_size(limit)} ({limit} bytes)"
    typer.echo(f"storage limit of {kind} {path}: {shown}; {format_size(used)} used")


def project_set_limit(
    path: str = typer.Argument(..., help="Project path, e.g. acme/app."),
    size: str = SIZE,
    output: Output = OUTPUT,
) -> None:
    """Limit the storage a project's images may use (pushes past it get 403 DENIED)."""
    from dockyard.admin import usage

    with database() as db:
        found = usage.set_project_limit(db, path, _limit(size), "cli")
    _report("project", path, found.used_bytes, found.limit_bytes, output)


def group_set_limit(
    path: str = typer.Argument(..., help="Group path, e.g. acme or acme/platform."),
    size: str = SIZE,
    output: Output = OUTPUT,
) -> None:
    """Limit the storage of everything in a group: its projects and subgroups together."""
    from dockyard.admin import usage

    with database() as db:
        found = usage.set_group_limit(db, path, _limit(size), "cli")
    _report("group", path, found.used_bytes, found.limit_bytes, output)


@usage_app.command("recount")
def recount(
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what is off; change nothing."),
    output: Output = OUTPUT,
) -> None:
    """Recount every repository's, project's and group's usage from the blob links and
    manifests, repair the counters that were off and say which (old and new bytes).

    Pushes keep the counters exact, so this should find nothing; exits 1 if it did.
    Safe while the server runs.
    """
    from dockyard.admin import usage
    from dockyard.sizes import format_size

    with database() as db, progress_bar("counting repositories") as (start, advance):
        report = usage.recount(db, usage.Progress(start, advance), dry_run)
    if output is Output.json:
        findings = [asdict(f) for f in report.findings]
        body = {"ok": report.ok, "dry_run": dry_run, "repositories": report.repositories}
        typer.echo(json.dumps({**body, "findings": findings}, indent=2))
    else:
        for f in report.findings:
            typer.echo(
                f"{f.kind:<10} {f.path}  {format_size(f.old_bytes)} ({f.old_bytes}) -> "
                f"{format_size(f.new_bytes)} ({f.new_bytes}), {f.refs_fixed} digests fixed"
            )
        action = "would be repaired" if dry_run else "repaired"
        off = len(report.findings)
        counters = "1 counter was" if off == 1 else f"{off} counters were"
        verdict = "every counter was exact" if report.ok else f"{counters} off ({action})"
        typer.echo(f"counted {report.repositories} repositories: {verdict}")
    if not report.ok:
        raise typer.Exit(1)
