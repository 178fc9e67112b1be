"""The credentials-epoch cache on its own: a reading serves many requests, is renewed
half-way by one caller, is never used past the bound, and a bump this process commits
counts at once, even against a reading that raced it."""

from __future__ import annotations

import pytest

from dockyard.auth import epoch
from dockyard.auth.epoch import MAX_AGE_SECONDS, RENEW_AFTER_SECONDS, EpochCache
from dockyard.db.queries.sessions import AUTH_EPOCH


class Stored:
    """The epoch as the database holds it, counting reads."""

    def __init__(self) -> None:
        self.value = 4
        self.reads = 0

    def read(self) -> int:
        self.reads += 1
        return self.value


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The cache's clock, set by the test."""
    clock = [1000.0]
    monkeypatch.setattr(epoch, "clock", lambda: clock[0])
    return clock


def test_one_reading_serves_many_requests(now: list[float]) -> None:
    stored = Stored()
    cache = EpochCache(stored.read)
    assert cache.fresh() is None  # nothing read yet: the caller must go and read
    assert cache.current() == 4 and stored.reads == 1
    stored.value = 5  # another process bumps it
    now[0] += RENEW_AFTER_SECONDS - 0.01
    assert all(cache.fresh() == 4 for _ in range(100))
    assert cache.current() == 4 and stored.reads == 1


def test_half_way_one_caller_renews_the_reading_and_the_others_keep_it(
    now: list[float],
) -> None:
    stored = Stored()
    cache = EpochCache(stored.read)
    cache.current()
    stored.value = 5
    now[0] += RENEW_AFTER_SECONDS
    assert cache.fresh() is None  # this caller goes to read it again...
    assert [cache.fresh() for _ in range(3)] == [4, 4, 4]  # ...the others need not wait
    assert cache.current() == 5 and stored.reads == 2
    assert cache.fresh() == 5


def test_no_reading_is_used_past_the_bound(now: list[float]) -> None:
    stored = Stored()
    cache = EpochCache(stored.read)
    cache.current()
    stored.value = 5
    now[0] += RENEW_AFTER_SECONDS
    assert cache.fresh() is None  # a renewal was asked for, and never done
    now[0] += MAX_AGE_SECONDS - RENEW_AFTER_SECONDS
    assert [cache.fresh() for _ in range(3)] == [None, None, None]
    assert cache.current() == 5


def test_a_bump_committed_here_counts_at_once(now: list[float]) -> None:
    stored = Stored()
    cache = EpochCache(stored.read)
    cache.current()
    stored.value = 5
    cache.changed({AUTH_EPOCH: 5})
    assert cache.fresh() == 5 and stored.reads == 1
    cache.changed({"protection": None})  # other notices change nothing
    assert cache.fresh() == 5


def test_a_reading_that_raced_our_commit_never_hides_it(now: list[float]) -> None:
    stored = Stored()

    def slow_read() -> int:
        value = stored.read()  # the old value, read just before our commit...
        cache.changed({AUTH_EPOCH: 5})  # ...whose notice lands before the read returns
        return value

    cache = EpochCache(slow_read)
    assert cache.current() == 5


def test_a_notice_without_a_value_forces_a_reading(now: list[float]) -> None:
    stored = Stored()
    cache = EpochCache(stored.read)
    cache.current()
    stored.value = 6
    cache.changed({AUTH_EPOCH: None})
    assert cache.fresh() is None and cache.current() == 6
