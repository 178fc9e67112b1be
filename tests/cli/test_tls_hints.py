"""CLI hints suggest --tls-verify=false only when the registry speaks plain HTTP."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Invoke


def test_plain_http_hints_turn_tls_verification_off(dockyard: Invoke) -> None:
    assert dockyard("group", "create", "acme").exit_code == 0
    created = dockyard("project", "create", "acme/app")
    assert "podman push --tls-verify=false IMAGE 127.0.0.1:5000/acme/app/" in created.output


@pytest.mark.parametrize(
    "env",
    [
        {"DOCKYARD_TLS_CERT": "/etc/dockyard/tls.crt", "DOCKYARD_TLS_KEY": "/etc/dockyard/tls.key"},
        {"DOCKYARD_PUBLIC_URL": "https://registry.example.com"},
    ],
)
def test_tls_hints_keep_verification_on(
    dockyard: Invoke, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert dockyard("group", "create", "acme").exit_code == 0
    created = dockyard("project", "create", "acme/app")
    assert "podman push IMAGE" in created.output
    user = dockyard(
        "user", "create", "bob", "--email", "b@example.com", "--password", "correct-horse-battery"
    )
    assert "podman login -u bob" in user.output
    token = dockyard("token", "create", "personal", "--user", "bob")
    assert token.exit_code == 0, token.output
    assert "tls-verify" not in created.output + user.output + token.output


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DOCKYARD_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local", "'proxy.local' is no IP or CIDR"),
        ("DOCKYARD_LOG_FORMAT", "xml", "log_format must be text or json"),
        ("DOCKYARD_TLS_CERT", "/nonexistent/tls.crt", "tls_cert and tls_key go together"),
    ],
)
def test_serve_refuses_bad_operations_settings(
    dockyard: Invoke, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    monkeypatch.setenv("DOCKYARD_LISTEN", "127.0.0.1:0")
    monkeypatch.setenv("DOCKYARD_METRICS_LISTEN", "")
    result = dockyard("serve")
    assert result.exit_code == 1
    assert message in result.output
