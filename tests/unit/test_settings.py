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
