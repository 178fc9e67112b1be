"""``dockyard worker``: run the job queue's loop without serving HTTP.

Server processes already run the same loop; a separate worker adds capacity (scans)
or keeps it off the machines that serve pulls. Leases make each job run once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import typer

from dockyard.config import load_settings

CONFIG = typer.Option(None, "--config", "-c", help="YAML file of settings ($DOCKYARD_CONFIG).")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    once: bool = typer.Option(
        False, "--once", help="Run the jobs that are due now, then exit (for cron and tests)."
    ),
    config: Path | None = CONFIG,
) -> None:
    """Run background jobs (scans, rematches, cleanup policies) from the queue until stopped
    (Ctrl-C)."""
    from dockyard.db.engine import Database
    from dockyard.workers.cleanup_job import SCHEDULE_SECONDS, schedule_due
    from dockyard.workers.runner import every, job_worker

    settings = load_settings(config)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(message)s")
    db = Database(
        settings.effective_database_url, settings.sqlite_synchronous, settings.database_pool_size
    )
    try:
        loop = job_worker(settings, db)
        if once:
            schedule_due(db)  # cleanup policies whose time has come
            typer.echo(f"ran {loop.drain()} job(s)")
            return
        typer.echo(f"worker {loop.id} waiting for jobs (Ctrl-C stops)")

        async def work() -> None:
            cleanups = every(SCHEDULE_SECONDS, "schedule cleanups", lambda: schedule_due(db))
            await asyncio.gather(loop.loop(), cleanups)

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(work())
    finally:
        db.dispose()
