"""Time as the credentials-epoch cache sees it (``dockyard.auth.epoch.clock``), moved by
tests instead of sleeping: how another process's change reaches this one within the bound.
Each helper starts from the clock as it stands, so they compose."""

from __future__ import annotations

import pytest

from dockyard.auth import epoch


def past_the_epoch_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time moves on by the bound: every epoch reading held now is too old to trust."""
    before = epoch.clock
    monkeypatch.setattr(epoch, "clock", lambda: before() + epoch.MAX_AGE_SECONDS)


def freeze_epoch_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The epoch cache's clock stands still: one reading serves every later request."""
    frozen = epoch.clock()
    monkeypatch.setattr(epoch, "clock", lambda: frozen)
