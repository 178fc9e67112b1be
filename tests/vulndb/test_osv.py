"""Reading OSV records: ecosystems, ranges, and one severity per record."""

from __future__ import annotations

import pytest

from dockyard.vulndb.osv import InvalidRecord, parse
from tests.vulndb import records as r


def test_cvss_v3_vector_gives_score_and_severity() -> None:
    record = parse(r.PYPI_REQUESTS)
    assert (record.severity, record.cvss_score) == ("high", 7.5)
    assert parse(r.MAVEN_LOG4J).severity == "critical"
    assert parse(r.MAVEN_LOG4J).cvss_score == 10.0
    assert (parse(r.NPM_LODASH).severity, parse(r.NPM_LODASH).cvss_score) == ("high", 7.2)


def test_cvss_v4_vector() -> None:
    vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    record = parse(r.changed(r.GO_XNET, severity=[{"type": "CVSS_V4", "score": vector}]))
    assert (record.severity, record.cvss_score) == ("critical", 9.3)


def test_ecosystem_words_when_there_is_no_vector() -> None:
    assert (parse(r.PYPI_JINJA).severity, parse(r.PYPI_JINJA).cvss_score) == ("medium", None)
    assert parse(r.NPM_MINIMIST).severity == "critical"
    assert parse(r.UBUNTU_CURL).severity == "high"
    debian = r.changed(r.DEBIAN_CURL_FIXED)
    debian["affected"][0]["ecosystem_specific"] = {"urgency": "unimportant"}
    assert parse(debian).severity == "low"
    assert parse(r.DEBIAN_OPENSSL).severity == "unknown"


def test_bad_vector_falls_back_to_words() -> None:
    bad = [{"type": "CVSS_V3", "score": "CVSS:3.1/nope"}]
    record = parse(r.changed(r.PYPI_JINJA, severity=bad))
    assert (record.severity, record.cvss_score) == ("medium", None)


def test_ecosystems_are_normalised_and_unsupported_dropped() -> None:
    ubuntu = parse(r.UBUNTU_CURL)
    assert [(a.ecosystem, a.package) for a in ubuntu.affected] == [("Ubuntu:22.04", "curl")]
    assert ubuntu.summary == "SOCKS5 heap buffer overflow"
    assert parse(r.CRATES_ONLY).unsupported
    assert not parse(r.CRATES_ONLY).affected
    debian = parse(r.DEBIAN_OPENSSL)
    assert {a.ecosystem for a in debian.affected} == {"Debian:12", "Debian:11"}


def test_pypi_names_are_pep503_normalised_and_git_ranges_dropped() -> None:
    record = r.changed(r.PYPI_REQUESTS)
    record["affected"][0]["package"]["name"] = "Zope.Interface_x"
    record["affected"][0]["ranges"].append(
        {"type": "GIT", "repo": "https://example.org/x.git", "events": [{"introduced": "abc"}]}
    )
    parsed = parse(record)
    found = [(a.package, a.range_type) for a in parsed.affected]
    assert found == [("zope-interface-x", "ECOSYSTEM")]


def test_versions_list_and_withdrawn() -> None:
    jinja = parse(r.PYPI_JINJA)
    assert [a.versions for a in jinja.affected if not a.range_type] == [("2.10", "2.9.6")]
    assert parse(r.PYPI_URLLIB3_WITHDRAWN).withdrawn is not None


@pytest.mark.parametrize(
    "data",
    [
        {},
        [],
        {"id": "X-1"},
        {"id": "X-1", "modified": "yesterday"},
        {"id": "X" * 200, "modified": r.T0},
        {"id": "", "modified": r.T0},
    ],
)
def test_not_a_record(data: object) -> None:
    with pytest.raises(InvalidRecord):
        parse(data)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Debian:12", "Debian:12"),
        ("Debian:12.4", "Debian:12"),
        ("Ubuntu:22.04:LTS", "Ubuntu:22.04"),
        ("Ubuntu:24.10", "Ubuntu:24.10"),
        ("Ubuntu:Pro:18.04:LTS", None),
        ("Alpine:v3.19", "Alpine:v3.19"),
        ("Alpine:3.19.1", "Alpine:v3.19"),
        ("PyPI", "PyPI"),
        ("Go", "Go"),
        ("crates.io", None),
        ("", None),
    ],
)
def test_canonical_ecosystem_names(given: str, expected: str | None) -> None:
    from dockyard.vulndb.ecosystems import canonical

    assert canonical(given) == expected
