"""A scan reads its layers only while the rest of the machine leaves cores idle."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.oci.digest import Digest
from dockyard.workers.quiet import INTERVAL, MAX_WAIT, QuietStore, QuietWatch, _busy_seconds


class Machine:
    """A fake clock and CPU counters: ``others`` cores busy besides the scan, which
    itself keeps one core busy whenever it is not napping."""

    def __init__(self, others: float) -> None:
        self.now = 0.0
        self.busy = 0.0
        self.own = 0.0
        self.others = others
        self.naps: list[float] = []

    def run(self, seconds: float) -> None:  # the scan works
        self.now += seconds
        self.own += seconds
        self.busy += seconds * (1 + self.others)

    def sleep(self, seconds: float) -> None:  # the scan naps
        self.naps.append(seconds)
        self.now += seconds
        self.busy += seconds * self.others

    def watch(self) -> QuietWatch:
        return QuietWatch(
            cores=2,
            busy=lambda: self.busy,
            own=lambda: self.own,
            sleep=self.sleep,
            clock=lambda: self.now,
        )


def test_on_an_idle_machine_the_scan_never_waits() -> None:
    machine = Machine(others=0.2)
    watch = machine.watch()
    for _ in range(100):
        watch.wait()
        machine.run(0.01)
    assert machine.naps == []


def test_on_a_busy_machine_each_chunk_waits_but_never_longer_than_max_wait() -> None:
    machine = Machine(others=1.0)  # serving keeps one of the two cores busy
    watch = machine.watch()
    for _ in range(20):
        watch.wait()
        machine.run(0.01)
    assert machine.naps  # it stepped aside
    assert sum(machine.naps) <= 20 * MAX_WAIT + 1e-9  # and still read every chunk
    assert max(machine.naps) == INTERVAL


def test_the_scan_goes_on_as_soon_as_the_machine_is_quiet_again() -> None:
    machine = Machine(others=1.0)
    watch = machine.watch()
    watch.wait()
    machine.run(INTERVAL)
    watch.wait()  # busy over the last interval: it naps
    assert machine.naps
    machine.others = 0.0  # serving stops
    machine.run(INTERVAL)
    watch.wait()  # one look over a quiet interval
    machine.naps.clear()
    for _ in range(20):
        watch.wait()
        machine.run(0.01)
    assert machine.naps == []


def _never_sleep(seconds: float) -> None:
    raise AssertionError("slept")


def test_without_cpu_figures_nothing_waits() -> None:
    watch = QuietWatch(cores=2, busy=lambda: None, sleep=_never_sleep)
    for _ in range(10):
        watch.wait()


def test_proc_stat_is_read_as_busy_seconds(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  100 10 50 5000 200 5 5 30 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
    assert _busy_seconds(stat) == (100 + 10 + 50 + 5 + 5 + 30) / os.sysconf("SC_CLK_TCK")
    assert _busy_seconds(tmp_path / "missing") is None


def test_the_store_hands_out_every_chunk_asking_the_watch_each_time() -> None:
    class Store:
        def read(self, digest, start=0, length=None):  # noqa: ANN001, ANN202
            yield from (b"a", b"b", b"c")

    asked: list[int] = []

    class Watch:
        def wait(self) -> None:
            asked.append(1)

    chunks = list(QuietStore(Store(), Watch()).read(Digest("sha256", "0" * 64)))  # type: ignore[arg-type]
    assert chunks == [b"a", b"b", b"c"] and len(asked) == 3


def test_a_longer_max_wait_rests_longer_on_a_busy_machine() -> None:
    machine = Machine(others=1.0)
    watch = QuietWatch(
        cores=2,
        busy=lambda: machine.busy,
        own=lambda: machine.own,
        sleep=machine.sleep,
        clock=lambda: machine.now,
        max_wait=1.0,
    )
    watch.wait()
    machine.run(INTERVAL)
    watch.wait()
    assert sum(machine.naps) == pytest.approx(1.0)  # the garbage collector's wait
