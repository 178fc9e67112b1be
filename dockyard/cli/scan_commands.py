"""``dockyard scan REF``: queue a vulnerability scan of an image and show its report."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import typer

from dockyard.cli.output import OUTPUT, Output, fail, render, render_object
from dockyard.config import load_settings

CONFIG = typer.Option(None, "--config", "-c", help="YAML file of settings ($DOCKYARD_CONFIG).")
COLUMNS = ("advisory_id", "severity", "package_name", "package_version", "fixed_version", "path")


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)


def split_reference(ref: str) -> tuple[str, str, str]:
    """``project/repo:tag`` or ``project/repo@sha256:…`` → (repository, kind, value)."""
    if "@" in ref:
        repository, _, digest = ref.partition("@")
        return repository, "digest", digest
    repository, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag or not repository:
        return ref, "tag", "latest"
    return repository, "tag", tag


def scan(
    ref: str = typer.Argument(..., help="The image: project/repo:tag or project/repo@sha256:…"),
    wait: bool = typer.Option(
        False, "--wait", help="Run the scan here and now (or wait for a worker) and show it."
    ),
    timeout: int = typer.Option(600, help="With --wait: give up after this many seconds."),
    output: Output = OUTPUT,
    config: Path | None = CONFIG,
) -> None:
    """Queue a scan of an image (each platform of an index) and show its vulnerabilities.

    Exits 0 when the report is shown, 1 when the image is unknown or --wait timed out."""
    from dockyard.admin import NotFound
    from dockyard.admin.registry import RegistryAdmin
    from dockyard.admin.vulnerabilities import Vulnerabilities
    from dockyard.db.engine import Database
    from dockyard.storage import open_store
    from dockyard.workers.runner import job_worker

    settings = load_settings(config)
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    repository, kind, value = split_reference(ref)
    try:
        registry = RegistryAdmin(db, open_store(settings))
        try:
            row = registry.repository_by_name(repository)
            digest = value if kind == "digest" else registry.tag(row.id, value).digest
            reports = Vulnerabilities(db)
            reports.rescan(row.id, repository, digest)
        except NotFound as error:
            fail(f"{ref}: {error}", "Check the name with `dockyard project list` or the web UI.")
        report = reports.report(row.id, digest)
        if wait:
            deadline = time.monotonic() + timeout
            worker = job_worker(settings, db)
            while report.status in ("queued", "scanning"):
                if time.monotonic() > deadline:
                    fail(
                        f"{ref}: the scan did not finish within {timeout} s",
                        "A worker may be busy; look again later with the same command.",
                    )
                if not worker.drain():  # another worker holds it: wait for that one
                    time.sleep(0.5)
                report = reports.report(row.id, digest)
    finally:
        db.dispose()
    _show(ref, digest, report, output)


def _show(ref: str, digest: str, report: object, output: Output) -> None:
    data = asdict(report)  # type: ignore[call-overload]
    if output == Output.json:
        plain = json.loads(json.dumps(data, default=_iso))  # nested datetimes as ISO text
        render_object({"reference": ref, "digest": digest, **plain})
        return
    typer.echo(
        f"{ref} ({digest}): {data['status'] or 'not scanned'}"
        + (f" ({data['reason']})" if data["reason"] else "")
    )
    summary = ", ".join(f"{n} {severity}" for severity, n in data["summary"].items())
    typer.echo(f"summary: {summary}")
    if data["manifests"] is not None:
        rows = [
            {
                "digest": m["digest"],
                "status": m["status"],
                "platform": (m["platform"] or {}).get("architecture"),
            }
            for m in data["manifests"]
        ]
        render(rows, ("digest", "platform", "status"), output)
    elif data["findings"]:
        render(data["findings"], COLUMNS, output)


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
