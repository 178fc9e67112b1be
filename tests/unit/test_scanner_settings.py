"""Where a scanner adapter is told to pull from: the setting, the public URL, or listen."""

from __future__ import annotations

import pytest

from dockyard.config import Settings, load_settings


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        (
            Settings(scanner_registry_url="http://dockyard.internal:5000/"),
            "http://dockyard.internal:5000",
        ),
        (Settings(public_url="https://registry.example.com/"), "https://registry.example.com"),
        (Settings(listen="10.1.2.3:5000"), "http://10.1.2.3:5000"),
        (Settings(listen="0.0.0.0:5000"), "http://127.0.0.1:5000"),
        (Settings(listen="[::]:5000"), "http://[::1]:5000"),
        (
            Settings(listen="0.0.0.0:443", tls_cert="c.pem", tls_key="k.pem"),
            "https://127.0.0.1:443",
        ),
    ],
)
def test_effective_scanner_registry_url(settings: Settings, url: str) -> None:
    assert settings.effective_scanner_registry_url == url


def test_scanner_settings_come_from_the_environment() -> None:
    settings = load_settings(
        environ={
            "DOCKYARD_SCANNER_URL": "http://trivy:8080",
            "DOCKYARD_SCANNER_AUTH": "Bearer s3cret",
            "DOCKYARD_SCANNER_TIMEOUT_SECONDS": "120",
        }
    )
    assert (settings.scanner_url, settings.scanner_auth) == ("http://trivy:8080", "Bearer s3cret")
    assert settings.scanner_timeout_seconds == 120
    assert Settings().scanner_url == ""  # the built-in scanner by default
