"""Loops every replica ticks take turns through the database: one pass per period."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

from dockyard.db.engine import Database
from dockyard.workers.runner import Turns


def test_of_many_processes_ticking_at_once_one_takes_the_turn(queue_db: Database) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    replicas = [Turns(queue_db) for _ in range(6)]
    taken: list[bool] = []
    start = threading.Barrier(len(replicas))

    def tick(turns: Turns) -> None:
        start.wait()
        taken.append(turns.take(name, 60.0))

    threads = [threading.Thread(target=tick, args=(turns,)) for turns in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == [False] * 5 + [True]
    assert not any(turns.take(name, 60.0) for turns in replicas)  # not due again for 60 s


def test_the_next_pass_is_due_after_the_period(queue_db: Database) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    first, second = Turns(queue_db), Turns(queue_db)
    ran: list[str] = []
    assert first.run_if_due(0.3, name, lambda: ran.append("first"))
    assert not second.run_if_due(0.3, name, lambda: ran.append("second"))
    time.sleep(0.35)
    assert second.run_if_due(0.3, name, lambda: ran.append("second"))
    assert ran == ["first", "second"]


def test_two_ticking_loops_run_about_once_per_period_together(queue_db: Database) -> None:
    """Two replicas' loops, each ticking every 0.2 s for 1.5 s: alone, each would run
    its job 8 times; taking turns, the two run it at most once per period together."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    runs: list[float] = []

    async def both() -> None:
        loops = [
            asyncio.create_task(Turns(queue_db).every(0.2, name, lambda: runs.append(1.0)))
            for _ in range(2)
        ]
        await asyncio.sleep(1.5)
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)

    asyncio.run(both())
    assert 1 <= len(runs) <= 8
