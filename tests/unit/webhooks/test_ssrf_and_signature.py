"""The SSRF rules, the pinned request target and the signature, without a network."""

from __future__ import annotations

import ipaddress
import time

import pytest

from dockyard.config import load_settings
from dockyard.webhooks.signature import sign, verify
from dockyard.webhooks.ssrf import AllowList, Refused, Resolved, _public, resolve, split


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:169.254.169.254", False),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert _public(ipaddress.ip_address(address)) is public


def test_the_allow_list_takes_hosts_and_networks() -> None:
    allow = AllowList.parse(" Hooks.Internal. , 10.20.0.0/16,127.0.0.1 ,")
    assert allow.hosts == frozenset({"hooks.internal"})
    assert allow.allows("hooks.internal", ipaddress.ip_address("10.9.9.9"))
    assert allow.allows("x", ipaddress.ip_address("10.20.3.4"))
    assert allow.allows("x", ipaddress.ip_address("127.0.0.1"))
    assert not allow.allows("x", ipaddress.ip_address("127.0.0.2"))


def test_the_setting_comes_from_the_environment() -> None:
    settings = load_settings(environ={"DOCKYARD_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1,hooks"})
    assert settings.webhook_allowed_hosts == "127.0.0.1,hooks"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/", "http:// or https://"),
        ("http:///path", "no host"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://example.com:99999/", "not valid"),
    ],
)
def test_malformed_urls_are_refused(url: str, says: str) -> None:
    with pytest.raises(Refused, match=says):
        split(url)


def test_localhost_resolves_to_loopback_and_is_refused_unless_allowed() -> None:
    with pytest.raises(Refused, match="not a public address"):
        resolve("http://localhost:8080/x", AllowList())
    found = resolve("http://LOCALHOST:8080/x", AllowList.parse("localhost"))
    assert found.host == "localhost" and found.address.is_loopback


def test_the_request_goes_to_the_checked_address_with_the_name_as_host() -> None:
    target = Resolved("https", "hooks.example.com", 8443, ipaddress.ip_address("93.184.215.14"))
    assert target.pinned_url("https://hooks.example.com:8443/a?b=1") == (
        "https://93.184.215.14:8443/a?b=1"
    )
    assert target.host_header == "hooks.example.com:8443"
    six = Resolved("http", "example.com", 80, ipaddress.ip_address("2606:4700::1111"))
    assert six.pinned_url("http://example.com/x") == "http://[2606:4700::1111]:80/x"
    assert six.host_header == "example.com"


def test_a_signature_is_bound_to_secret_body_and_time() -> None:
    body = b'{"event":"push"}'
    header = sign("secret", body)
    assert verify("secret", body, header)
    assert not verify("secret", body + b"x", header)
    assert not verify("other", body, header)
    old = sign("secret", body, int(time.time()) - 3600)
    assert not verify("secret", body, old)  # a replay an hour later
    assert not verify("secret", body, "v1=abc")
    t = header.split(",")[0][2:]
    assert sign("secret", body, int(t)) == header


def test_the_receiver_check_in_the_docs_works() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "webhooks.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) <= 10
    space: dict = {}
    exec(code, space)  # noqa: S102 - our own documentation
    body = b'{"event":"push"}'
    assert space["genuine"](b"secret", body, sign("secret", body))
    assert not space["genuine"](b"secret", body + b" ", sign("secret", body))
    assert not space["genuine"](b"secret", body, sign("secret", body, int(time.time()) - 900))
