"""Where each setting came from: load_settings records it on the side (Settings stays a
plain frozen value), and publish() carries it to the server's worker processes."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from dockyard.config import (
    SOURCES_VARIABLE,
    Settings,
    load_settings,
    publish,
    setting_sources,
)


def test_nothing_set_means_every_value_is_the_default() -> None:
    sources = setting_sources(load_settings(environ={}))
    assert set(sources) == {f.name for f in dataclasses.fields(Settings)}
    assert set(sources.values()) == {"default"}


def test_each_layer_is_named_and_the_later_one_wins(tmp_path: Path) -> None:
    config = tmp_path / "dockyard.yaml"
    config.write_text("listen: 0.0.0.0:5000\nlog_level: debug\nworkers: 2\n")
    env = {"DOCKYARD_LOG_LEVEL": "warning", "DOCKYARD_PAGE_SIZE_MAX": "50"}
    settings = load_settings(config, environ=env, workers=4)
    sources = setting_sources(settings)
    assert (settings.listen, sources["listen"]) == ("0.0.0.0:5000", "config file")
    assert (settings.log_level, sources["log_level"]) == ("warning", "environment")
    assert (settings.page_size_max, sources["page_size_max"]) == (50, "environment")
    assert (settings.workers, sources["workers"]) == (4, "override")
    assert sources["token_ttl_seconds"] == "default"


def test_the_config_file_named_by_the_environment_counts_as_the_file(tmp_path: Path) -> None:
    config = tmp_path / "dockyard.yaml"
    config.write_text("delete_enabled: false\n")
    sources = setting_sources(load_settings(environ={"DOCKYARD_CONFIG": str(config)}))
    assert sources["delete_enabled"] == "config file"


def test_a_variable_that_is_ignored_is_no_source() -> None:
    """An empty DOCKYARD_X means "use the default" (except where empty means off)."""
    sources = setting_sources(
        load_settings(environ={"DOCKYARD_LOG_LEVEL": "", "DOCKYARD_METRICS_LISTEN": ""})
    )
    assert sources["log_level"] == "default"
    assert sources["metrics_listen"] == "environment"


def test_settings_stay_frozen_values_with_their_own_sources() -> None:
    from_env = load_settings(environ={"DOCKYARD_TOKEN_TTL_SECONDS": "300"})  # the default
    plain = load_settings(environ={})
    assert from_env == plain  # equal values, whatever their origin
    with pytest.raises(dataclasses.FrozenInstanceError):
        from_env.token_ttl_seconds = 1  # type: ignore[misc]
    assert setting_sources(from_env)["token_ttl_seconds"] == "environment"
    assert setting_sources(plain)["token_ttl_seconds"] == "default"


def test_settings_built_without_load_settings_report_default_or_override() -> None:
    sources = setting_sources(Settings(workers=3))
    assert sources["workers"] == "override" and sources["listen"] == "default"
    copied = dataclasses.replace(load_settings(environ={}), log_level="debug")
    assert setting_sources(copied)["log_level"] == "override"


def test_worker_processes_learn_the_sources_the_server_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker reads every value from the environment publish() wrote; without the
    published sources it would call them all "environment"."""
    config = tmp_path / "dockyard.yaml"
    config.write_text("log_level: debug\n")
    monkeypatch.setattr(os, "environ", {"DOCKYARD_PAGE_SIZE_MAX": "50"})
    parent = load_settings(config, workers=3)
    publish(parent)
    assert SOURCES_VARIABLE in os.environ
    worker = load_settings()  # as dockyard.cli.asgi does, from the published environment
    assert worker == parent
    assert setting_sources(worker) == setting_sources(parent)
    assert setting_sources(worker)["log_level"] == "config file"
    assert setting_sources(worker)["page_size_max"] == "environment"
    assert setting_sources(worker)["workers"] == "override"
    assert setting_sources(worker)["listen"] == "default"


@pytest.mark.parametrize("published", ["not json", "[1, 2]", '{"listen": "made up"}'])
def test_a_garbled_published_list_falls_back_to_the_environment(published: str) -> None:
    env = {"DOCKYARD_LISTEN": "0.0.0.0:6000", SOURCES_VARIABLE: published}
    assert setting_sources(load_settings(environ=env))["listen"] == "environment"
