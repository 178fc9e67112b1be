"""Replicas that start together on a fresh PostgreSQL database all come up."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

MIGRATE = "import sys; from dockyard.db.engine import Database; Database(sys.argv[1]).migrate()"


def test_three_processes_migrating_one_fresh_database_at_once_all_succeed(
    postgres_url: Callable[[], str],
) -> None:
    url = postgres_url()
    runs = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outcomes = [(run.wait(120), run.stderr.read() if run.stderr else "") for run in runs]
    assert all(code == 0 for code, _ in outcomes), outcomes
