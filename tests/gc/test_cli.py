"""``dockyard gc`` against a registry's data: dry run, delay, --now, JSON, audit."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dockyard.cli.main import app
from dockyard.db.models import AuditEvent
from tests.gc.conftest import Env
from tests.http.oci_helpers import push_image


@pytest.fixture
def gc_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Callable[..., object]]:
    def bind(env: Env) -> Callable[..., object]:
        for name, value in (
            ("DATA_DIR", str(env.settings.data_dir)),
            ("DATABASE_URL", env.settings.database_url),
            ("GC_REVIEW_DELAY_SECONDS", str(env.settings.gc_review_delay_seconds)),
        ):
            monkeypatch.setenv(f"DOCKYARD_{name}", value)
        runner = CliRunner()
        return lambda *args: runner.invoke(app, ["gc", *args])

    return bind


def test_gc_dry_run_then_now(make_env: Callable[..., Env], gc_cli) -> None:  # noqa: ANN001
    env = make_env(gc_review_delay_seconds=3600)
    old = push_image(env.client, "gc/app", "v1")
    push_image(env.client, "gc/app", "v1")
    gc = gc_cli(env)

    waiting = gc("-o", "json")
    assert waiting.exit_code == 0, waiting.output
    assert json.loads(waiting.output)["manifests"] == 0  # the delay has not passed

    dry = gc("--dry-run", "--now", "-o", "json", "--verbose")
    assert dry.exit_code == 0, dry.output
    seen = json.loads(dry.output)
    assert seen["dry_run"] is True and seen["manifests"] == 1
    assert seen["blobs"] == len(old.blobs) and seen["blob_bytes"] == sum(
        map(len, old.blobs.values())
    )
    assert seen["per_repository"] == {"gc/app": {"manifests": 1, "blob_links": len(old.blobs)}}
    assert env.manifest_row("gc/app", old.digest) and all(env.stored(d) for d in old.blobs)

    done = gc("--now")
    assert done.exit_code == 0, done.output
    assert "removed 1 manifests" in done.output and f"{len(old.blobs)} blobs" in done.output
    assert not env.manifest_row("gc/app", old.digest)
    assert not any(env.stored(d) for d in old.blobs)
    env.consistent()
    with env.db.session() as conn:
        actions = conn.scalars(select(AuditEvent.action).where(AuditEvent.actor == "dockyard gc"))
        assert list(actions) == ["gc"]


def test_gc_that_cannot_run_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DOCKYARD_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(app, ["gc"])
    assert result.exit_code == 1
    assert "garbage collection could not run" in result.output
