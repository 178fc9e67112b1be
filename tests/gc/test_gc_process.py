"""The server's passes run in a child that rests between transactions."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

import pytest

from dockyard.workers.gc_process import REST, GcProcess, GcProcessError, Gentle
from tests.api.helpers import push_image
from tests.support.auth_registry import AuthRegistry


@pytest.fixture
def reg(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend, gc_review_delay_seconds=0, gc_upload_grace_seconds=0)


@pytest.fixture
def passes(reg: AuthRegistry) -> Iterator[GcProcess]:
    child = GcProcess(reg.settings)
    yield child
    child.close()


def test_a_pass_in_the_child_removes_what_nothing_references(
    reg: AuthRegistry, passes: GcProcess
) -> None:
    project = reg.new_project("private")
    push_image(reg, f"{project}/app", "v1", layers=[b"first layer"])
    push_image(reg, f"{project}/app", "v1", layers=[b"second layer"])  # the first is untagged

    removed = passes.run()

    assert removed["manifests"] == 1 and removed["blobs"] >= 1
    assert removed["per_repository"][f"{project}/app"]["manifests"] == 1
    assert passes.pid not in (None, os.getpid())  # collected in the child
    assert passes.run()["manifests"] == 0  # the same child serves the next pass


def test_a_dead_child_fails_one_pass_and_is_replaced(reg: AuthRegistry, passes: GcProcess) -> None:
    passes.run()
    first = passes.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    with pytest.raises(GcProcessError, match="died"):
        passes.run()
    passes.run()
    assert passes.pid not in (None, first)


class Watch:
    def __init__(self) -> None:
        self.waits = 0

    def wait(self) -> None:
        self.waits += 1


def test_gentle_rests_as_long_as_the_transaction_held_then_waits_for_spare_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("dockyard.workers.gc_process.time.sleep", slept.append)
    watch = Watch()
    gentle = Gentle(watch)  # type: ignore[arg-type]
    gentle(0.004)
    gentle(0.002)
    assert slept == [pytest.approx(0.004 * REST), pytest.approx(0.002 * REST)]
    assert watch.waits == 2


def test_an_orphaned_child_stops_mid_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr("dockyard.workers.gc_process.os._exit", exits.append)
    monkeypatch.setattr("dockyard.workers.gc_process.time.sleep", lambda _s: None)
    gentle = Gentle(Watch(), parent=os.getppid())  # type: ignore[arg-type]
    gentle(0.001)
    assert exits == []
    gentle = Gentle(Watch(), parent=-1)  # type: ignore[arg-type]  # a parent that is gone
    gentle(0.001)
    assert exits == [0]
