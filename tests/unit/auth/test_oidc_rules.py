"""The pure rules of keyless CI login: trust claim patterns and which issuers may be
trusted."""

from __future__ import annotations

import pytest

from dockyard.auth.oidc.claims import check_patterns, matches
from dockyard.auth.oidc.issuers import issuer_refusal
from dockyard.config import Settings
from dockyard.validation import InvalidInput

GITHUB = "https://token.actions.githubusercontent.com"


@pytest.mark.parametrize(
    ("patterns", "claims", "expected"),
    [
        ({"repository": "acme/app"}, {"repository": "acme/app"}, True),
        ({"repository": "acme/app"}, {"repository": "acme/app2"}, False),
        ({"repository": "acme/*"}, {"repository": "acme/team/app"}, True),  # * crosses /
        ({"repository": "acme/*"}, {"repository": "ACME/app"}, False),  # case-sensitive
        ({"ref": "refs/heads/release-?"}, {"ref": "refs/heads/release-1"}, True),
        ({"ref": "refs/tags/v[0-9]*"}, {"ref": "refs/tags/v1.2"}, True),
        ({"ref": "refs/tags/v[0-9]*"}, {"ref": "refs/tags/vx"}, False),
        ({"ref": "main"}, {"ref": "refs/heads/main"}, False),  # the whole value
        ({"repository": "a/b", "ref": "main"}, {"repository": "a/b"}, False),  # all must match
        ({"ref_protected": "true"}, {"ref_protected": True}, False),  # strings only
        ({"repository": "a.b"}, {"repository": "axb"}, False),  # a glob, not a regex
    ],
)
def test_claim_patterns_match_whole_string_values(patterns, claims, expected):
    assert matches(patterns, claims) is expected


@pytest.mark.parametrize(
    "patterns",
    [{}, {"repository": ""}, {"repository": "**"}, {"aud": "x"}, {"": "x"}, {"ref": 1}, []],
)
def test_unusable_patterns_are_refused(patterns):
    with pytest.raises(InvalidInput):
        check_patterns(patterns)


def test_issuers_must_be_https_unless_listed_and_listed_when_a_list_is_set():
    open_settings = Settings()
    assert issuer_refusal(GITHUB, open_settings) is None
    assert "must use https" in issuer_refusal("http://127.0.0.1:9000", open_settings)
    assert "not a URL" in issuer_refusal("token.example.com", open_settings)
    assert "not a URL" in issuer_refusal("https://[::1", open_settings)
    assert "not a URL" in issuer_refusal("https://a\x00b", open_settings)
    listed = Settings(oidc_allowed_issuers=f"{GITHUB}/, http://127.0.0.1:9000")
    assert issuer_refusal(GITHUB, listed) is None  # a trailing slash does not matter
    assert issuer_refusal("http://127.0.0.1:9000", listed) is None
    assert "not allowed on this registry" in issuer_refusal("https://gitlab.com", listed)
