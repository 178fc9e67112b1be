"""``dockyard cleanup run|show PROJECT``: run a project's cleanup policy now, or show it.

Both work on the server's database directly, like the other administration commands. A
run holds the policy's job key, so it never overlaps a scheduled run of the same policy.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from dockyard.cli.output import OUTPUT, Output, fail, progress_bar, render, render_object
from dockyard.config import load_settings

CONFIG = typer.Option(None, "--config", "-c", help="YAML file of settings ($DOCKYARD_CONFIG).")
COLUMNS = ("repository", "tag", "digest", "pushed_at", "action")
RUN_COLUMNS = ("id", "trigger", "status", "started_at", "tags_deleted", "tags_skipped", "errors")
HINT = "Set one first: PUT /api/v1/projects/PROJECT/registry/cleanup_policy, or the web UI."

cleanup_app = typer.Typer(no_args_is_help=True, help="Cleanup policies: delete tags by rule.")


def register(app: typer.Typer) -> None:
    app.add_typer(cleanup_app, name="cleanup")


def _plain(value: Any) -> Any:
    """Nested datetimes as ISO text, for JSON output."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat()))


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _open(config: Path | None, project: str) -> tuple[Any, Any, Any, Any]:
    """(settings, database, the Cleanups service, the project) or exit 1."""
    from dockyard.admin import NotFound
    from dockyard.admin.accounts import find_project
    from dockyard.db.engine import Database
    from dockyard.storage import open_store
    from dockyard.workers.kinds import cleanups

    settings = load_settings(config)
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    try:
        record = find_project(db, project)
    except NotFound as error:
        db.dispose()
        fail(str(error), "List projects with `dockyard project list`.")
    return settings, db, cleanups(settings, db, open_store(settings)), record


@cleanup_app.command("show")
def show(
    project: str = typer.Argument(..., help="Project path, e.g. acme/app."),
    output: Output = OUTPUT,
    config: Path | None = CONFIG,
) -> None:
    """Show the project's cleanup policy, when it runs next, and its last five runs."""
    _, db, service, record = _open(config, project)
    try:
        stored = service.stored(record)
        runs, total = service.runs(record, 0, 5)
    finally:
        db.dispose()
    policy = {**asdict(stored.policy), "next_run_at": stored.next_run_at}
    policy.update(updated_at=stored.updated_at, updated_by=stored.updated_by)
    shown = [{**asdict(r), "errors": len(r.errors)} for r in runs]
    for row in shown:
        row.pop("report")  # the list of runs carries no report (REST: …/runs/{id})
    if output == Output.json:
        render_object(_plain({"project": project, "saved": stored.saved, **policy, "runs": shown}))
        return
    if not stored.saved:
        typer.echo(f"{project} has no cleanup policy (these are the defaults)")
    render([{"field": k, "value": v} for k, v in policy.items()], ("field", "value"), output)
    typer.echo(f"\nruns: {total}")
    if shown:
        render(shown, RUN_COLUMNS, output)


@cleanup_app.command("run")
def run(
    project: str = typer.Argument(..., help="Project path, e.g. acme/app."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only list what would be deleted; delete nothing, record no run."
    ),
    output: Output = OUTPUT,
    config: Path | None = CONFIG,
) -> None:
    """Run the project's cleanup policy now and print what it deleted.

    A disabled policy runs too (you asked for it); --dry-run prints what would go and
    deletes nothing. Exit 1 if the run had errors, or another run of it is under way."""
    from dockyard.admin import Conflict
    from dockyard.workers.cleanup_job import run_now

    settings, db, service, record = _open(config, project)
    try:
        if not service.stored(record).saved:
            fail(f"project {project} has no cleanup policy", HINT)
        label = "previewing" if dry_run else "cleaning up"
        with progress_bar(label) as progress:
            if dry_run:
                preview = service.preview(record, progress=progress)
            else:
                try:
                    done = run_now(db, service, record, "cli", progress, settings.job_lease_seconds)
                except Conflict as error:
                    fail(str(error))
    finally:
        db.dispose()
    if dry_run:
        _print_preview(project, preview, output)
    else:
        _print_run(project, done, output)


def _print_preview(project: str, preview: Any, output: Output) -> None:
    rows = []
    for repo in preview.repositories:
        rows += [_row(repo.repository, t, "would delete") for t in repo.delete]
        rows += [_row(repo.repository, t, f"skipped: {t.reason}") for t in repo.skipped]
    if output == Output.json:
        render_object({"project": project, "dry_run": True, "run": None, "tags": rows})
        return
    render(rows, COLUMNS, output)
    touched = sum(1 for r in preview.repositories if r.delete)
    typer.echo(
        f"would delete {preview.to_delete} tag(s) in {touched} repositories, skip {preview.skipped}"
    )


def _print_run(project: str, done: Any, output: Output) -> None:
    rows = []
    report = done.report or {"repositories": [], "truncated": False}
    for repo in report["repositories"]:
        rows += [_row(repo["repository"], t, "deleted") for t in repo["deleted"]]
        rows += [_row(repo["repository"], t, f"skipped: {t['reason']}") for t in repo["skipped"]]
    summary = {k: v for k, v in asdict(done).items() if k != "report"}
    if output == Output.json:
        render_object(_plain({"project": project, "dry_run": False, "run": summary, "tags": rows}))
    else:
        render(rows, COLUMNS, output)
        if report["truncated"]:
            typer.echo("(the list stops at 5,000 tags; the counts are whole)")
        typer.echo(
            f"run {done.id} {done.status}: deleted {done.tags_deleted} tag(s), skipped "
            f"{done.tags_skipped}; about {_size(done.bytes_freed)} for garbage collection "
            "to free"
        )
    for error in done.errors:
        typer.secho(f"error: {error}", fg="red", err=True)
    if done.status != "done":
        raise typer.Exit(1)


def _row(repository: str, tag: Any, action: str) -> dict[str, Any]:
    get = tag.get if isinstance(tag, dict) else lambda k: getattr(tag, k)
    pushed = get("pushed_at")
    return {
        "repository": repository,
        "tag": get("name"),
        "digest": get("digest"),
        "pushed_at": pushed if isinstance(pushed, str) else pushed.isoformat(),
        "action": action,
    }
