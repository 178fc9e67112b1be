"""dockyard: serve the registry and administer it."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from pathlib import Path

import typer

from dockyard.cli import admin_commands, maintenance_commands, worker_commands
from dockyard.cli.output import fail
from dockyard.config import load_settings, publish, settings_help

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
admin_commands.register(app)
maintenance_commands.register(app)
worker_commands.register(app)

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
    from granian.constants import Interfaces
    from granian.server import Server

    settings = load_settings(
        config, listen=listen, data_dir=data_dir, database_url=database_url, workers=workers
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _ensure_can_listen(settings.host, settings.port)
    publish(settings)
    # Set up in a child process: this supervisor then stays small (no SQLAlchemy, no Alembic).
    if subprocess.run([sys.executable, "-m", "dockyard", "setup"]).returncode:
        fail("setup failed (see above); the server did not start", "Fix the cause and run again.")
    typer.echo(f"Dockyard listening on http://{settings.listen} (data in {settings.data_dir})")
    Server(
        "dockyard.cli.asgi:app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.worker_count,
        factory=True,
        log_level=settings.log_level,
        # On SIGTERM requests get this long to finish before workers are killed; an
        # interrupted upload stays resumable, so a stuck connection never blocks a stop.
        workers_kill_timeout=10,
    ).serve()


def _ensure_can_listen(host: str, port: int) -> None:
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
                "Stop what uses that address, or choose another with --listen or DOCKYARD_LISTEN.",
            )


@app.command()
def setup(config: Path | None = CONFIG) -> None:
    """Migrate the database; on first start create the signing key and the admin user."""
    from dockyard.admin.accounts import ensure_initial_admin
    from dockyard.auth.keys import ensure_signing_key
    from dockyard.db.engine import Database

    settings = load_settings(config)
    logging.basicConfig(level=logging.WARNING)
    database = Database(settings.effective_database_url, settings.sqlite_synchronous)
    database.migrate()
    if settings.auth == "none":
        typer.echo("auth is off (auth: none): anyone can push and pull")
        return
    ensure_signing_key(settings.signing_key_path)
    password = ensure_initial_admin(database, settings)
    saved = settings.data_dir / "initial_admin_password"
    if not password and saved.exists():
        typer.echo(f"The first admin password is in {saved} (user 'admin').")
    if password:
        where = settings.data_dir / "initial_admin_password"
        host = admin_commands.registry_host(settings)
        typer.echo(
            f"Created user 'admin' with password: {password}\n"
            f"(also written to {where}; change it or delete the file once noted)\n"
            f"Log in: podman login --tls-verify=false -u admin {host}"
        )


@db_app.command("upgrade")
def db_upgrade(config: Path | None = CONFIG) -> None:
    """Apply every pending migration."""
    from dockyard.db.engine import Database

    settings = load_settings(config)
    logging.basicConfig(level=logging.WARNING)
    Database(settings.effective_database_url, settings.sqlite_synchronous).migrate()
    typer.echo("database is up to date")
