"""dockyard: serve the registry and administer it."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dockyard.cli import (
    admin_commands,
    cleanup_commands,
    gc_commands,
    keys_commands,
    maintenance_commands,
    protection_commands,
    scan_commands,
    tag_commands,
    usage_commands,
    vulndb_commands,
    worker_commands,
)
from dockyard.cli.output import fail
from dockyard.config import Settings, load_settings, publish, settings_help

if TYPE_CHECKING:
    from dockyard.db.engine import Database

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
admin_commands.register(app)
maintenance_commands.register(app)
gc_commands.register(app)
vulndb_commands.register(app)
worker_commands.register(app)
scan_commands.register(app)
cleanup_commands.register(app)
tag_commands.register(app)
usage_commands.register(app)
protection_commands.register(app)
keys_commands.register(app)

CONFIG = typer.Option(None, "--config", "-c", help="YAML file of settings ($DOCKYARD_CONFIG).")


@app.command(
    epilog="Settings (YAML key, environment variable, default): \n\n" + settings_help(),
)
def serve(
    config: Path | None = CONFIG,
    listen: str | None = typer.Option(None, help="host:port to bind."),
    data_dir: Path | None = typer.Option(None, help="Folder for blobs, uploads and SQLite."),
    database_url: str | None = typer.Option(None, help="Metadata database URL."),
    workers: int | None = typer.Option(None, help="HTTP worker processes."),
) -> None:
    """Run the registry: migrate and set up on first start, then serve HTTP."""
    from granian.constants import Interfaces, SSLProtocols
    from granian.server import Server

    try:
        settings = load_settings(
            config, listen=listen, data_dir=data_dir, database_url=database_url, workers=workers
        )
    except ValueError as error:  # a bad setting: say which, without a stack trace
        fail(str(error), "Fix the setting (dockyard serve --help lists them all).")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _ensure_can_listen(settings.host, settings.port)
    if settings.metrics_listen:
        metrics_host, _, metrics_port = settings.metrics_listen.rpartition(":")
        _ensure_can_listen(
            metrics_host or "127.0.0.1", int(metrics_port), "DOCKYARD_METRICS_LISTEN"
        )
    _check_tls(settings)
    _check_operations(settings)
    publish(settings)
    if settings.metrics_listen:
        _fresh_metrics_folder(settings.data_dir / "metrics")
    # Set up in a child process, and only when something is missing: this supervisor
    # then stays small (no SQLAlchemy, no Alembic) and a restart starts sooner.
    if not _needs_setup(settings):
        _tell_setup(settings, None)
    elif subprocess.run([sys.executable, "-m", "dockyard", "setup"]).returncode:
        fail("setup failed (see above); the server did not start", "Fix the cause and run again.")
    typer.echo(
        f"Dockyard listening on {settings.scheme}://{settings.listen} (data in {settings.data_dir})"
    )
    if settings.metrics_listen:
        from dockyard.http.logformat import configure_logging
        from dockyard.http.metrics import serve_metrics

        configure_logging(settings)
        serve_metrics(settings, os.environ["PROMETHEUS_MULTIPROC_DIR"])
        typer.echo(f"Metrics on http://{settings.metrics_listen}/metrics")
    # Fresh worker processes, not forks: a forked worker inherits this process's signal
    # handlers, so a SIGTERM reaching it while it still starts up was swallowed and it
    # served on until killed (the 10 s hang). A spawned worker dies of it instead.
    multiprocessing.set_start_method("spawn", force=True)
    Server(
        "dockyard.cli.asgi:app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.worker_count,
        factory=True,
        log_level=settings.log_level,
        log_dictconfig=_granian_logging(settings),
        log_access=False,  # our request log (dockyard.access) has one line per request
        ssl_cert=Path(settings.tls_cert) if settings.tls else None,
        ssl_key=Path(settings.tls_key) if settings.tls else None,
        ssl_protocol_min=SSLProtocols.tls12,  # docker 20.10, containerd and friends
        # On SIGTERM in-flight requests get this long to finish before workers are
        # killed; an interrupted upload stays resumable, so a stuck client never blocks a stop.
        workers_kill_timeout=max(settings.shutdown_timeout_seconds, 1),
    ).serve()


def _granian_logging(settings: Settings) -> dict:
    """Granian's own lines (start, stop, worker deaths) in the same format as ours."""
    formatter = "JsonFormatter" if settings.log_format == "json" else "TextFormatter"
    chosen = {"()": f"dockyard.http.logformat.{formatter}"}
    return {"formatters": {"generic": chosen, "access": chosen}}


def _fresh_metrics_folder(folder: Path) -> None:
    """Workers write their samples here (prometheus_client's multiprocess mode); samples
    of an earlier run would be counted again, so the folder starts empty."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder.resolve())


def _check_operations(settings: Settings) -> None:
    """Refuse settings the workers would fail on, here where the message is seen."""
    from dockyard.http.proxies import parse_networks

    if settings.log_format not in ("text", "json"):
        fail(f"log_format must be text or json, not {settings.log_format!r}")
    try:
        parse_networks(settings.trusted_proxies)
    except ValueError as error:
        fail(str(error), "List IP addresses or CIDRs, comma-separated, e.g. 127.0.0.1, 10.0.0.0/8.")
    _check_scanner(settings)
    _check_storage(settings)


def _check_storage(settings: Settings) -> None:
    """storage=s3 needs a bucket, and an endpoint that is a URL (when one is given)."""
    if settings.storage != "s3":
        return
    if not settings.s3_bucket:
        fail(
            "storage is s3 but s3_bucket is empty", "Set DOCKYARD_S3_BUCKET to an existing bucket."
        )
    if settings.s3_endpoint and not settings.s3_endpoint.startswith(("http://", "https://")):
        fail(
            f"s3_endpoint must be an http:// or https:// URL, not {settings.s3_endpoint!r}",
            "Leave it empty for AWS S3.",
        )


def _check_scanner(settings: Settings) -> None:
    """An external scanner needs an http(s) URL and must answer within a job's lease."""
    if not settings.scanner_url:
        return
    if not settings.scanner_url.startswith(("http://", "https://")):
        fail(f"scanner_url must be an http:// or https:// URL, not {settings.scanner_url!r}")
    if not 0 < settings.scanner_timeout_seconds < settings.job_lease_seconds:
        fail(
            "scanner_timeout_seconds must be positive and shorter than job_lease_seconds "
            f"({settings.job_lease_seconds}), or another worker retries a scan still waiting",
            "Lower DOCKYARD_SCANNER_TIMEOUT_SECONDS or raise DOCKYARD_JOB_LEASE_SECONDS.",
        )


def _check_tls(settings: Settings) -> None:
    if bool(settings.tls_cert) != bool(settings.tls_key):
        fail(
            "tls_cert and tls_key go together: set both to serve HTTPS, or neither",
            "Set DOCKYARD_TLS_CERT and DOCKYARD_TLS_KEY (or tls_cert/tls_key in the YAML file).",
        )
    for path in (settings.tls_cert, settings.tls_key):
        if path and not Path(path).is_file():
            fail(f"cannot read {path}", "Point tls_cert and tls_key at PEM files.")


def _ensure_can_listen(host: str, port: int, setting: str = "DOCKYARD_LISTEN") -> None:
    """Say plainly that the address is taken, instead of a server traceback later."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM
    )[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            fail(
                f"cannot listen on {host}:{port}: {error.strerror}",
                f"Stop what uses that address, or choose another with {setting}"
                + (" (or --listen)." if setting == "DOCKYARD_LISTEN" else " (empty: off)."),
            )


@app.command()
def setup(config: Path | None = CONFIG) -> None:
    """Migrate the database; on first start create the signing key and the admin user."""
    settings = load_settings(config)
    logging.basicConfig(level=logging.WARNING)
    password = None
    if _needs_setup(settings):
        from dockyard.db.engine import Database

        database = Database(settings.effective_database_url, settings.sqlite_synchronous)
        password = _set_up(database, settings)
        database.dispose()
    _tell_setup(settings, password)


def _needs_setup(settings: Settings) -> bool:
    """Whether migrations, keys or the first admin are missing (bare-driver queries:
    a restart of a set-up registry loads neither SQLAlchemy nor Alembic)."""
    from dockyard.auth.key_purposes import kept_in_database
    from dockyard.db.setup_state import needs_setup

    if settings.signing_key_file and not settings.signing_key_path.exists():
        return True
    return needs_setup(
        settings.effective_database_url, kept_in_database(settings), settings.auth != "none"
    )


def _tell_setup(settings: Settings, password: str | None) -> None:
    """What setup did or where its results are, for the operator."""
    if settings.auth == "none":
        typer.echo("auth is off (auth: none): anyone can push and pull")
        return
    saved = settings.data_dir / "initial_admin_password"
    if not password and saved.exists():
        typer.echo(f"The first admin password is in {saved} (user 'admin').")
    if password:
        host = admin_commands.registry_host(settings)
        typer.echo(
            f"Created user 'admin' with password: {password}\n"
            f"(also written to {saved}; change it or delete the file once noted)\n"
            f"Log in: podman login {admin_commands.insecure_flag(settings)}-u admin {host}"
        )


def _set_up(database: Database, settings: Settings) -> str | None:
    """Migrate, create the first keys and (with auth on) the first admin; the admin's
    generated password, once."""
    from dockyard.admin import AdminError
    from dockyard.admin.accounts import ensure_initial_admin
    from dockyard.auth.keys import ensure_keys

    database.migrate()
    ensure_keys(database, settings)  # in the database, shared by every replica
    if settings.auth == "none":
        return None
    try:
        return ensure_initial_admin(database, settings)
    except AdminError as error:
        fail(str(error), "Fix the setting and run again.")


@db_app.command("upgrade")
def db_upgrade(config: Path | None = CONFIG) -> None:
    """Apply every pending migration."""
    from dockyard.db.engine import Database

    settings = load_settings(config)
    logging.basicConfig(level=logging.WARNING)
    Database(settings.effective_database_url, settings.sqlite_synchronous).migrate()
    typer.echo("database is up to date")
