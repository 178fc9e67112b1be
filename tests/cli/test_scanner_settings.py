"""`dockyard serve` refuses external-scanner settings the worker would fail on."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Invoke


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DOCKYARD_SCANNER_URL": "trivy:8080"}, "scanner_url must be an http:// or https:// URL"),
        (
            {
                "DOCKYARD_SCANNER_URL": "http://trivy:8080",
                "DOCKYARD_SCANNER_TIMEOUT_SECONDS": "600",
            },
            "scanner_timeout_seconds must be positive and shorter than job_lease_seconds (600)",
        ),
        (
            {"DOCKYARD_SCANNER_URL": "http://trivy:8080", "DOCKYARD_SCANNER_TIMEOUT_SECONDS": "0"},
            "scanner_timeout_seconds must be positive",
        ),
    ],
)
def test_serve_refuses_bad_scanner_settings(
    dockyard: Invoke, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DOCKYARD_LISTEN", "127.0.0.1:0")
    monkeypatch.setenv("DOCKYARD_METRICS_LISTEN", "")
    result = dockyard("serve")
    assert result.exit_code == 1
    assert message in result.output
