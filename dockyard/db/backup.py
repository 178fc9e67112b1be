"""Consistent copies of the metadata database, taken while the server runs.

SQLite: the online backup API copies the database in one step under a read
transaction, so the copy is one committed state even while pushes go on (WAL lets
writers continue meanwhile). PostgreSQL: ``pg_dump`` in its custom format, which
is consistent by construction (one snapshot), restored with ``pg_restore``.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from dockyard.db.engine import normalise_url


class BackupError(RuntimeError):
    """The copy could not be made or restored; the message says why and what to do."""


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL (or in-memory SQLite)."""
    parsed = make_url(normalise_url(url))
    if not parsed.drivername.startswith("sqlite"):
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _read_only(path: Path) -> str:
    """A URI that opens the database read-only (quoted: paths may hold '?' or '#')."""
    return f"file:{quote(str(path.resolve()))}?mode=ro"


def _libpq_url(url: str) -> str:
    """The URL as pg_dump and pg_restore understand it (no SQLAlchemy driver suffix)."""
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(False)


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy one SQLite database into a new file with the online backup API."""
    if not source.exists():
        raise BackupError(f"no SQLite database at {source}")
    with (
        closing(sqlite3.connect(_read_only(source), uri=True)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)  # all pages in one step: one consistent snapshot


def describe_sqlite(path: Path) -> tuple[str | None, int]:
    """(schema revision, blob rows) of a SQLite database file."""
    with closing(sqlite3.connect(_read_only(path), uri=True)) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        revision = None
        if "alembic_version" in tables:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        blobs = conn.execute("SELECT count(*) FROM blobs").fetchone()[0] if "blobs" in tables else 0
    return revision, int(blobs)


def sqlite_is_empty(path: Path) -> bool:
    """True when there is no database at ``path`` or it holds no tables yet."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    with closing(sqlite3.connect(_read_only(path), uri=True)) as conn:
        return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def remove_sqlite(path: Path) -> None:
    """Delete a SQLite database with its write-ahead log and shared-memory files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client tools "
            f"(Debian: apt-get install postgresql-client) and run this again"
        )
    return found


def pg_dump(url: str, target: Path) -> None:
    """Dump a PostgreSQL database to ``target`` in pg_dump's custom format."""
    cmd = [_tool("pg_dump"), "--format=custom", f"--file={target}"]
    _run([*cmd, f"--dbname={_libpq_url(url)}"], "pg_dump")


def pg_restore(url: str, source: Path, clean: bool) -> None:
    """Restore a custom-format dump into the database ``url`` names."""
    cmd = [_tool("pg_restore"), "--no-owner", "--single-transaction", "--exit-on-error"]
    if clean:
        cmd += ["--clean", "--if-exists"]
    _run([*cmd, f"--dbname={_libpq_url(url)}", str(source)], "pg_restore")


def _run(cmd: list[str], name: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{name} failed: {done.stderr.strip()[-2000:]}")


def describe(url: str) -> tuple[str | None, int, bool]:
    """(schema revision, blob rows, has tables) of a live database of either kind."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            revision = None
            if "alembic_version" in tables:
                revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
            blobs = conn.scalar(text("SELECT count(*) FROM blobs")) if "blobs" in tables else 0
    finally:
        engine.dispose()
    return revision, int(blobs or 0), bool(tables)
