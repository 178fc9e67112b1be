"""Each ecosystem's version order at its edges, and OSV range semantics."""

from __future__ import annotations

import pytest

from dockyard.vulndb.versions import assess, is_affected

FIXED = [("ECOSYSTEM", [("introduced", "0"), ("fixed", "{fixed}")])]


def fixed_at(fixed: str, kind: str = "ECOSYSTEM") -> list[tuple[str, list[tuple[str, str]]]]:
    return [(kind, [("introduced", "0"), ("fixed", fixed)])]


@pytest.mark.parametrize(
    ("ecosystem", "older", "newer"),
    [
        ("Debian:12", "2.0-1", "1:2.0-1"),  # the epoch wins over everything
        ("Debian:12", "1:9.9-9", "2:0.1-1"),
        ("Debian:12", "1.0~rc1", "1.0"),  # tilde sorts before the release
        ("Debian:12", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2"),
        ("Ubuntu:22.04", "7.81.0-1ubuntu1.9", "7.81.0-1ubuntu1.14"),
        ("Alpine:v3.19", "1.2.3-r1", "1.2.3-r2"),  # -r revisions
        ("Alpine:v3.19", "1.2.3_rc1", "1.2.3"),
        ("Alpine:v3.19", "1.2.3_rc1-r0", "1.2.3-r0"),
        ("Alpine:v3.19", "1.2.9-r5", "1.2.10-r0"),
        ("Red Hat", "1:1.0-1.el9", "2:0.5-1.el9"),
        ("Red Hat", "3.0.7-24.el9", "3.0.7-25.el9"),
        ("PyPI", "1.0a1", "1.0"),  # pre-releases
        ("PyPI", "1.0rc2", "1.0"),
        ("PyPI", "1.0", "1.0.post1"),
        ("PyPI", "2.9.6", "2.10"),
        ("npm", "1.0.0-alpha", "1.0.0"),
        ("npm", "1.0.0-alpha.1", "1.0.0-beta"),
        ("npm", "4.17.20", "4.17.21"),
        ("Go", "v1.2.3", "v1.2.10"),  # v prefixes
        ("Go", "v0.0.0-20210101000000-abcdef123456", "v0.1.0"),  # pseudo-versions
        ("Go", "go1.20.4", "1.20.6"),  # the toolchain as stdlib
        ("Maven", "2.0-beta9", "2.0"),  # qualifiers
        ("Maven", "1.0-SNAPSHOT", "1.0"),
        ("Maven", "1.0-rc1", "1.0"),
        ("Maven", "2.9.1", "2.17.0"),
    ],
)
def test_order_at_the_edges(ecosystem: str, older: str, newer: str) -> None:
    assert is_affected(ecosystem, older, fixed_at(newer))
    assert not is_affected(ecosystem, newer, fixed_at(newer))
    assert not is_affected(ecosystem, newer, fixed_at(older))


def test_semver_ranges_and_several_introduced() -> None:
    ranges = [
        (
            "SEMVER",
            [
                ("introduced", "0"),
                ("fixed", "1.19.11"),
                ("introduced", "1.20.0"),
                ("fixed", "1.20.6"),
            ],
        )
    ]
    assert assess("Go", "1.19.10", ranges).fixed == "1.19.11"
    assert not is_affected("Go", "1.19.11", ranges)
    assert not is_affected("Go", "1.19.99", ranges)
    assert assess("Go", "go1.20.4", ranges).fixed == "1.20.6"
    assert not is_affected("Go", "1.21.0", ranges)


def test_last_affected_and_limit() -> None:
    last = [("ECOSYSTEM", [("introduced", "1.0"), ("last_affected", "1.4")])]
    assert is_affected("PyPI", "1.4", last)
    assert not is_affected("PyPI", "1.4.1", last)
    assert not is_affected("PyPI", "0.9", last)
    assert assess("PyPI", "1.2", last).fixed is None
    limited = [("ECOSYSTEM", [("introduced", "0"), ("limit", "2.0")])]
    assert is_affected("PyPI", "1.9", limited)
    assert not is_affected("PyPI", "2.0", limited)


def test_events_out_of_order_are_sorted() -> None:
    ranges = [("ECOSYSTEM", [("fixed", "1.5"), ("introduced", "1.0")])]
    assert is_affected("PyPI", "1.2", ranges)
    assert not is_affected("PyPI", "0.5", ranges)


def test_fixed_version_is_the_earliest_above_installed() -> None:
    ranges = [
        ("ECOSYSTEM", [("introduced", "0"), ("fixed", "2.0")]),
        ("ECOSYSTEM", [("introduced", "0"), ("fixed", "1.5")]),
    ]
    assert assess("PyPI", "1.0", ranges).fixed == "1.5"
    assert assess("PyPI", "1.7", ranges).fixed == "2.0"


def test_explicit_versions_list() -> None:
    assert is_affected("PyPI", "2.10", [], ["2.10", "2.9.6"])
    assert not is_affected("PyPI", "2.10.1", [], ["2.10", "2.9.6"])
    assert is_affected("Go", "v1.2.3", [], ["1.2.3"])


def test_unparseable_versions_do_not_match_nor_raise(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="dockyard.vulndb.versions")
    assert not is_affected("PyPI", "not a version!", fixed_at("2.0"))
    assert not is_affected("npm", "1.0.0", fixed_at("garbage!!"))
    assert not is_affected("Unknown", "1.0", fixed_at("2.0"))
    assert "unparseable" in caplog.text
