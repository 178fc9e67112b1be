"""`dockyard backup` and `dockyard restore`: the database copied consistently, blobs after.

A backup is a folder::

    DEST/manifest.json      written last: a folder without it is not a finished backup
    DEST/dockyard.db        SQLite, copied with the online backup API
    DEST/dockyard.pgdump    or PostgreSQL, pg_dump's custom format
    DEST/keys/token.pem     the token signing key, so issued tokens stay valid
    DEST/blobs/...          optional (--with-blobs): the blob store's own layout

Blobs are immutable and named by digest, so copying them *after* the database copy
can only add blobs the database does not know yet, never miss one it references.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from dockyard.admin import AdminError
from dockyard.config import Settings
from dockyard.db import backup as dbcopy
from dockyard.db.engine import Database
from dockyard.db.queries import blobs as blob_rows
from dockyard.db.queries import uploads as upload_rows
from dockyard.oci.digest import Digest, parse_digest
from dockyard.oci.errors import RegistryError
from dockyard.storage import BlobStore, open_store

MANIFEST = "manifest.json"
SQLITE_FILE = "dockyard.db"
PG_FILE = "dockyard.pgdump"
KEY_FILE = "keys/token.pem"
BLOBS = "blobs"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """What manifest.json says about a backup."""

    format: int
    created_at: str
    database: str  # "sqlite" | "postgresql"
    database_file: str
    schema_revision: str | None
    blob_count: int  # blob rows in the database copy
    blobs_copied: int | None  # None: blobs were not copied into the backup


@dataclass(frozen=True, slots=True)
class RestoreResult:
    backup: BackupInfo
    blobs_restored: int
    blobs_missing: int  # recorded, but neither in the store nor (whole) in the backup


def backup(settings: Settings, dest: Path, with_blobs: bool = False) -> BackupInfo:
    """Copy the database (then, if asked, the blobs) into the folder ``dest``."""
    dest = Path(dest)
    if (dest / MANIFEST).exists() or (dest / SQLITE_FILE).exists() or (dest / PG_FILE).exists():
        raise AdminError(f"{dest} already holds a backup; choose an empty folder")
    dest.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    source = dbcopy.sqlite_path(url)
    try:
        if source is not None:
            database, name = "sqlite", SQLITE_FILE
            partial = dest / (SQLITE_FILE + ".partial")
            dbcopy.remove_sqlite(partial)
            dbcopy.copy_sqlite(source, partial)
            partial.rename(dest / SQLITE_FILE)
            revision, blob_count = dbcopy.describe_sqlite(dest / SQLITE_FILE)
        else:
            database, name = "postgresql", PG_FILE
            revision, blob_count, _ = dbcopy.describe(url)  # taken just before the dump
            dbcopy.pg_dump(url, dest / PG_FILE)
    except dbcopy.BackupError as error:
        raise AdminError(str(error)) from None
    _copy_key(settings.signing_key_path, dest / KEY_FILE)
    copied = _copy_blobs(open_store(settings), dest / BLOBS) if with_blobs else None
    info = BackupInfo(
        FORMAT,
        datetime.now(UTC).isoformat(timespec="seconds"),
        database,
        name,
        revision,
        blob_count,
        copied,
    )
    (dest / MANIFEST).write_text(json.dumps(asdict(info), indent=2) + "\n")
    return info


def read_backup(src: Path) -> BackupInfo:
    """The manifest of a finished backup, or a clear error."""
    try:
        raw = json.loads((Path(src) / MANIFEST).read_text())
        info = BackupInfo(**raw)
    except FileNotFoundError:
        raise AdminError(f"{src} is not a finished backup (no {MANIFEST})") from None
    except (ValueError, TypeError) as error:
        raise AdminError(f"{src}/{MANIFEST} is not a Dockyard backup manifest: {error}") from None
    if info.format != FORMAT:
        raise AdminError(f"backup format {info.format} is not supported (expected {FORMAT})")
    if not (Path(src) / info.database_file).is_file():
        raise AdminError(f"{src}/{info.database_file} is missing")
    return info


def restore(settings: Settings, src: Path, force: bool = False) -> RestoreResult:
    """Put a backup back: database, signing key, and blobs if the backup has them.

    Refuses while a server answers on ``listen``, and refuses to replace a database
    that already holds tables, unless ``force``.
    """
    src = Path(src)
    info = read_backup(src)
    if not force and _server_answers(settings):
        raise AdminError(
            f"a server is listening on {settings.listen}; stop it before restoring (or --force)"
        )
    url = settings.effective_database_url
    target = dbcopy.sqlite_path(url)
    kind = "sqlite" if target is not None else "postgresql"
    if info.database != kind:
        raise AdminError(f"the backup is of a {info.database} database; {kind} is configured")
    try:
        if target is not None:
            _restore_sqlite(src / info.database_file, target, force)
        else:
            _restore_postgres(url, src / info.database_file, force)
    except dbcopy.BackupError as error:
        raise AdminError(str(error)) from None
    if force or not settings.signing_key_path.exists():
        _copy_key(src / KEY_FILE, settings.signing_key_path)
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    try:
        with db.session(write=True) as session:
            # Sessions in the copy have no bytes in the backup: clients start anew.
            upload_rows.remove_all(session)
        restored, missing = _restore_blobs(src / BLOBS, open_store(settings), db)
    finally:
        db.dispose()
    return RestoreResult(info, restored, missing)


def _restore_sqlite(source: Path, target: Path, force: bool) -> None:
    if not dbcopy.sqlite_is_empty(target) and not force:
        raise AdminError(f"{target} already holds a database; use --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    dbcopy.remove_sqlite(target)
    dbcopy.copy_sqlite(source, target)


def _restore_postgres(url: str, source: Path, force: bool) -> None:
    has_tables = dbcopy.describe(url)[2]
    if has_tables and not force:
        raise AdminError("the configured PostgreSQL database is not empty; use --force to replace")
    dbcopy.pg_restore(url, source, clean=has_tables)


def _server_answers(settings: Settings) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((settings.host, settings.port)) == 0


def _copy_key(source: Path, target: Path) -> None:
    if not source.is_file():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(stat.S_IRUSR | stat.S_IWUSR)


def _blob_file(root: Path, digest: Digest) -> Path:
    return root / digest.algorithm / digest.hex[:2] / digest.hex


def _copy_blobs(store: BlobStore, root: Path) -> int:
    """Every stored blob into ``root``: hard links on the same filesystem, else copies."""
    copied = 0
    for digest in store.iter_digests():
        target = _blob_file(root, digest)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        source = store.local_path(digest)
        if source is None:
            _write(target, store.read(digest))
        else:
            try:
                os.link(source, target)
            except OSError:  # another filesystem (EXDEV), or links not allowed
                shutil.copyfile(source, target)
        copied += 1
    return copied


def _write(target: Path, chunks: Iterable[bytes]) -> None:
    with target.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)


def _restore_blobs(root: Path, store: BlobStore, db: Database) -> tuple[int, int]:
    """(restored, missing): the recorded blobs the store lacks, taken from the backup.

    Only blobs the restored database records come back (a backup may hold newer ones),
    each verified against its digest on the way; the others are counted as missing.
    """
    restored = missing = 0
    after = ""
    while True:
        with db.session() as session:
            page = blob_rows.page(session, after, 1000)
        for row in page:
            try:
                digest = parse_digest(row.digest)
            except RegistryError:
                missing += 1
                continue
            if store.stat(digest) is not None:
                continue
            path = _blob_file(root, digest)
            if path.is_file() and _import_blob(store, digest, path):
                restored += 1
            else:
                missing += 1
        if len(page) < 1000:
            return restored, missing
        after = page[-1].digest


def _import_blob(store: BlobStore, digest: Digest, path: Path) -> bool:
    upload_id = str(uuid.uuid4())
    store.begin_upload(upload_id)
    hasher = digest.hasher()
    try:
        writer = store.append(upload_id, 0)
        try:
            with path.open("rb") as source:
                while chunk := source.read(1024 * 1024):
                    writer.write(chunk)
                    hasher.update(chunk)
        finally:
            writer.close(durable=False)
        if hasher.hexdigest() != digest.hex:
            store.abort(upload_id)
            return False
        store.commit(upload_id, digest)
    except BaseException:
        store.abort(upload_id)
        raise
    return True
