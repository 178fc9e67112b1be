"""SQLite's single writer is queued across processes by a lock file the kernel hands over."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import text

from dockyard.db.engine import Database


def _held_elsewhere(lock: Path) -> bool:
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock if we got it
    return False


def test_a_write_transaction_holds_the_lock_file_and_reads_do_not(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/d.db")
    lock = tmp_path / "d.db-writer.lock"
    with db.session(write=True) as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert _held_elsewhere(lock)  # another process (or Database) would queue here
    assert not _held_elsewhere(lock)
    with db.session() as conn:
        conn.execute(text("SELECT count(*) FROM t"))
        assert not _held_elsewhere(lock)
    db.dispose()


HOLDER = """
import sys
from sqlalchemy import text
from dockyard.db.engine import Database
db = Database(sys.argv[1])
with db.session(write=True) as conn:
    conn.execute(text("INSERT INTO t VALUES (1)"))
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_a_writer_in_another_process_makes_ours_wait_until_it_commits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/d.db"
    db = Database(url)
    with db.session(write=True) as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        done = threading.Event()

        def write() -> None:
            with db.session(write=True) as conn:
                conn.execute(text("INSERT INTO t VALUES (2)"))
            done.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert not done.wait(0.5)  # queued behind the other process, not failing
        holder.communicate("go\n", timeout=10)
        writer.join(10)
        assert done.is_set()
        with db.session() as conn:
            assert sorted(conn.scalars(text("SELECT x FROM t"))) == [1, 2]
    finally:
        if holder.poll() is None:
            holder.kill()
        db.dispose()
