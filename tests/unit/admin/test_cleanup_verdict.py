"""One tag's cleanup verdict agrees with the whole-repository selection: ``keeps`` says
None for exactly the tags ``select`` deletes, whatever the names, times and rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from dockyard.admin.cleanup import Selector, compile_pattern

NOW = datetime(2026, 11, 29, tzinfo=UTC)
NAMES = ["latest", "main", "v1", "v2", "v10", "release-1", "release-2", "dev-a", "dev-b", "x"]


def ranked_after(tags: list[tuple[str, datetime]], name: str, pushed: datetime) -> list[str]:
    return [n for n, at in tags if (at, n) > (pushed, name)]


@pytest.mark.parametrize("seed", range(200))
def test_keeps_is_none_exactly_for_the_selected_tags(seed: int) -> None:
    rng = random.Random(seed)
    names = rng.sample(NAMES, rng.randint(1, len(NAMES)))
    # equal push times happen (a script tags many at once): ties break by name
    tags = [(n, NOW - timedelta(days=rng.choice([0, 1, 5, 5, 40, 100]))) for n in names]
    selector = Selector(
        delete=compile_pattern(rng.choice([".*", "v.*", "dev-.*|x", "nothing"]), "delete"),
        keep=compile_pattern(rng.choice(["release-.*", "v1"]), "keep")
        if rng.random() < 0.5
        else None,
        keep_n=rng.choice([None, 1, 2, 3]),
        cutoff=rng.choice([None, NOW - timedelta(days=30)]),
    )
    chosen = {n for n, _ in selector.select(tags, lambda t: t[0], lambda t: t[1])}
    for name, pushed in tags:
        newer = ranked_after(tags, name, pushed)
        reason = selector.keeps(name, pushed, lambda later=newer: iter(later))
        assert (reason is None) == (name in chosen), (name, reason, chosen, tags)


def test_keep_n_reads_no_further_than_it_needs() -> None:
    selector = Selector(delete=compile_pattern(".*", "delete"), keep_n=2)
    read = []

    def newer():  # noqa: ANN202 - a generator
        for n in range(1000):
            read.append(n)
            yield f"t{n}"

    assert selector.keeps("old", NOW, newer) is None
    assert len(read) == 2


def test_reasons_say_why_in_words() -> None:
    selector = Selector(
        delete=compile_pattern("v.*", "d"),
        keep=compile_pattern("v1", "k"),
        keep_n=1,
        cutoff=NOW - timedelta(days=30),
    )
    assert selector.keeps("latest", NOW, lambda: iter([])) == "latest is always kept"
    assert selector.keeps("main", NOW, lambda: iter([])) == (
        "its name does not match the delete pattern"
    )
    assert selector.keeps("v1", NOW, lambda: iter([])) == "its name matches the keep pattern"
    assert selector.keeps("v2", NOW, lambda: iter(["v1", "main"])) == (
        "it is one of the 1 newest tags the policy matches"
    )
    assert selector.keeps("v2", NOW, lambda: iter(["v3"])) == (
        "it is newer than the age the policy deletes at"
    )
    assert selector.keeps("v2", NOW - timedelta(days=31), lambda: iter(["v3"])) is None
