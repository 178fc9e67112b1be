"""Settings from the environment: types, and the lower bounds some settings have."""

from __future__ import annotations

import pytest

from dockyard.config import load_settings
from dockyard.workers.kinds import scan_limits


def test_scan_limits_come_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "DOCKYARD_SCAN_MAX_LAYER_BYTES": "1000000",
            "DOCKYARD_SCAN_MAX_FILES_PER_LAYER": "10",
            "DOCKYARD_SCAN_MAX_FILE_BYTES": "4096",
            "DOCKYARD_SCAN_MAX_JAR_DEPTH": "1",
        }
    )
    limits = scan_limits(settings)
    assert (limits.max_layer_bytes, limits.max_files_per_layer) == (1_000_000, 10)
    assert (limits.max_file_bytes, limits.max_jar_depth) == (4096, 1)


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("SCAN_MAX_FILES_PER_LAYER", "0", "scan_max_files_per_layer: must be at least 1, got 0"),
        ("SCAN_MAX_FILE_BYTES", "10", "scan_max_file_bytes: must be at least 1024, got 10"),
        ("JOB_LEASE_SECONDS", "-5", "job_lease_seconds: must be at least 1, got -5"),
        ("SCAN_MAX_JAR_DEPTH", "two", "scan_max_jar_depth: expected an integer, got 'two'"),
    ],
)
def test_a_setting_out_of_range_says_which_and_why(name: str, value: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        load_settings(environ={f"DOCKYARD_{name}": value})


def test_s3_settings_come_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "DOCKYARD_STORAGE": "s3",
            "DOCKYARD_S3_ENDPOINT": "http://127.0.0.1:8333",
            "DOCKYARD_S3_BUCKET": "registry",
            "DOCKYARD_S3_REGION": "eu-west-1",
            "DOCKYARD_S3_ACCESS_KEY": "key",
            "DOCKYARD_S3_SECRET_KEY": "secret",
            "DOCKYARD_S3_PREFIX": "dockyard",
            "DOCKYARD_S3_REDIRECT": "true",
            "DOCKYARD_S3_REDIRECT_TTL_SECONDS": "60",
            "DOCKYARD_S3_PART_SIZE_BYTES": str(16 * 1024 * 1024),
        }
    )
    assert (settings.storage, settings.s3_bucket, settings.s3_prefix) == (
        "s3",
        "registry",
        "dockyard",
    )
    assert settings.s3_redirect is True and settings.s3_redirect_ttl_seconds == 60
    assert settings.s3_part_size_bytes == 16 * 1024 * 1024
    assert load_settings(environ={}).storage == "filesystem"


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("STORAGE", "gcs", "storage: must be one of 'filesystem', 's3', got 'gcs'"),
        ("S3_PART_SIZE_BYTES", "1048576", "s3_part_size_bytes: must be at least 5242880"),
        ("S3_PART_SIZE_BYTES", str(6 * 1024**3), "s3_part_size_bytes: must be at most 5368709120"),
        ("S3_REDIRECT_TTL_SECONDS", "0", "s3_redirect_ttl_seconds: must be at least 1, got 0"),
        ("S3_REDIRECT", "maybe", "s3_redirect: expected a boolean, got 'maybe'"),
    ],
)
def test_bad_storage_settings_are_refused_at_load(name: str, value: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        load_settings(environ={f"DOCKYARD_{name}": value})


def test_s3_without_a_bucket_is_refused_when_the_store_opens() -> None:
    from dockyard.storage import open_store

    with pytest.raises(ValueError, match="s3_bucket"):
        open_store(load_settings(environ={"DOCKYARD_STORAGE": "s3"}))


def test_the_s3_secret_is_not_shown_in_help() -> None:
    from dockyard.config import settings_help

    assert "s3_secret_key ($DOCKYARD_S3_SECRET_KEY, default (secret))" in settings_help()
