"""Matching inventories against imported advisories: the exact set of findings."""

from __future__ import annotations

from pathlib import Path

from dockyard.db.engine import Database
from dockyard.scan.model import Finding, Inventory, OSInfo, Package
from dockyard.vulndb.importer import import_paths
from dockyard.vulndb.matcher import match, match_many
from tests.vulndb import records as r

LAYER = "sha256:" + "a" * 64


def deb(
    name: str,
    version: str,
    source: str | None = None,
    source_version: str | None = None,
    ecosystem: str = "Debian:12",
) -> Package:
    return Package(
        name,
        version,
        ecosystem,
        "deb",
        LAYER,
        "var/lib/dpkg/status",
        source_name=source,
        source_version=source_version,
        namespace="debian",
    )


def lang(
    name: str, version: str, ecosystem: str, purl_type: str, namespace: str | None = None
) -> Package:
    return Package(name, version, ecosystem, purl_type, LAYER, f"app/{name}", namespace=namespace)


DEBIAN_IMAGE = Inventory(
    os=OSInfo("debian", "12"),
    packages=(
        deb("libssl3", "3.0.11-1~deb12u1", source="openssl"),  # openssl advisory, via source
        deb("openssl", "3.0.11-1~deb12u1"),
        # binNMU: the binary version differs, the source version is what advisories name
        deb("libssl-dev", "3.0.11-1~deb12u1+b1", "openssl", "3.0.11-1~deb12u1"),
        deb("curl", "7.88.1-10+deb12u5"),  # fixed version installed: not reported
        deb("zlib1g", "1:1.2.11.dfsg-2", source="zlib"),  # only a Debian 11 advisory
        deb("libcurl4", "7.81.0-1ubuntu1.13", "curl", ecosystem="Ubuntu:22.04"),
        Package(
            "libcrypto3",
            "3.1.4-r0",
            "Alpine:v3.19",
            "apk",
            LAYER,
            "lib/apk/db/installed",
            source_name="openssl",
        ),
        Package("openssl", "3.1.4-r1", "Alpine:v3.19", "apk", LAYER, "lib/apk/db/installed"),
        lang("requests", "2.19.1", "PyPI", "pypi"),
        lang("Jinja2", "2.10", "PyPI", "pypi"),  # GHSA names it jinja2
        lang("urllib3", "1.26.0", "PyPI", "pypi"),  # only a withdrawn advisory
        lang("requests", "2.19.1", "npm", "npm"),  # a PyPI advisory, wrong ecosystem
        lang("lodash", "4.17.20", "npm", "npm"),
        lang("minimist", "1.2.6", "npm", "npm"),  # the fix itself
        lang("minimist", "0.2.1", "npm", "npm"),  # the older branch, still affected
        lang("stdlib", "go1.20.4", "Go", "golang"),
        lang("golang.org/x/net", "v0.7.0", "Go", "golang"),  # fixed
        lang("log4j-core", "2.14.1", "Maven", "maven", namespace="org.apache.logging.log4j"),
        lang("tokio", "1.0.0", "crates.io", "cargo"),  # unsupported ecosystem
        lang("weird", "¯\\_(ツ)_/¯", "PyPI", "pypi"),  # unparseable: no crash, no finding
    ),
)

EXPECTED = {
    ("DSA-5532-1", "libssl3", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2"),
    ("DSA-5532-1", "openssl", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2"),
    ("DSA-5532-1", "libssl-dev", "3.0.11-1~deb12u1+b1", "3.0.11-1~deb12u2"),
    ("UBUNTU-CVE-2023-38545", "libcurl4", "7.81.0-1ubuntu1.13", "7.81.0-1ubuntu1.14"),
    ("ALPINE-CVE-2023-5678", "libcrypto3", "3.1.4-r0", "3.1.4-r1"),
    ("GHSA-x84v-xcm2-53pg", "requests", "2.19.1", "2.20.0"),
    ("GHSA-462w-v97r-4m45", "Jinja2", "2.10", "2.10.1"),
    ("GHSA-35jh-r3h4-6jhm", "lodash", "4.17.20", "4.17.21"),
    ("GHSA-xvch-5gv4-984h", "minimist", "0.2.1", "0.2.4"),
    ("GO-2023-1878", "stdlib", "go1.20.4", "1.20.6"),
    ("GHSA-jfh8-c2jp-5v3q", "log4j-core", "2.14.1", "2.15.0"),
}


def summary(findings: list[Finding]) -> set[tuple[str, str, str, str | None]]:
    return {(f.advisory_id, f.package.name, f.package.version, f.fixed_version) for f in findings}


def test_exact_findings(db: Database, tmp_path: Path) -> None:
    import_paths(db, [r.write_zip(tmp_path / "all.zip", r.ALL)])
    findings = match(db, DEBIAN_IMAGE)
    assert summary(findings) == EXPECTED
    assert len(findings) == len(EXPECTED)
    requests = next(f for f in findings if f.advisory_id == "GHSA-x84v-xcm2-53pg")
    assert requests.package.ecosystem == "PyPI"
    assert (requests.severity, requests.cvss_score) == ("high", 7.5)
    assert requests.aliases == ("CVE-2018-18074",)
    assert requests.summary == "Insecure Temporary File in Requests"
    log4j = next(f for f in findings if f.advisory_id == "GHSA-jfh8-c2jp-5v3q")
    assert (log4j.severity, log4j.cvss_score) == ("critical", 10.0)


def test_withdrawing_stops_matching_and_updates_apply(db: Database, tmp_path: Path) -> None:
    import_paths(db, [r.write_zip(tmp_path / "all.zip", r.ALL)])
    gone = r.changed(r.PYPI_REQUESTS, modified=r.T1, withdrawn=r.T1)
    # the Debian fix was backported further: 3.0.11-1~deb12u1 is now the fixed version
    moved = r.changed(r.DEBIAN_OPENSSL, modified=r.T1)
    moved["affected"][0]["ranges"][0]["events"][1]["fixed"] = "3.0.11-1~deb12u1"
    revived = r.changed(r.PYPI_URLLIB3_WITHDRAWN, modified=r.T1, withdrawn=None)
    summary_ = import_paths(db, [r.write_zip(tmp_path / "next.zip", [gone, moved, revived])])
    assert (summary_.withdrawn, summary_.updated) == (1, 2)
    findings = summary(match(db, DEBIAN_IMAGE))
    assert findings == {
        f for f in EXPECTED if f[0] not in ("GHSA-x84v-xcm2-53pg", "DSA-5532-1")
    } | {("GHSA-wqvq-5m8c-6g24", "urllib3", "1.26.0", "9.0.0")}


def test_empty_database_and_empty_inventory(db: Database) -> None:
    assert match(db, DEBIAN_IMAGE) == []
    assert match(db, Inventory(os=None, packages=())) == []


def test_match_many_equals_match_each(db: Database, tmp_path: Path) -> None:
    import_paths(db, [r.write_zip(tmp_path / "all.zip", r.ALL)])
    small = Inventory(
        os=None,
        packages=(
            lang("requests", "2.20.0", "PyPI", "pypi"),
            lang("requests", "2.0.0", "PyPI", "pypi"),
        ),
    )
    both = match_many(db, [DEBIAN_IMAGE, small])
    assert summary(both[0]) == EXPECTED
    assert summary(both[1]) == {("GHSA-x84v-xcm2-53pg", "requests", "2.0.0", "2.20.0")}


def test_one_matcher_across_slices_gives_the_same_findings(db: Database, tmp_path: Path) -> None:
    from dockyard.vulndb.matcher import Matcher

    import_paths(db, [r.write_zip(tmp_path / "all.zip", r.ALL)])
    matcher = Matcher(db)
    first = matcher.match_many([DEBIAN_IMAGE])
    again = matcher.match_many([DEBIAN_IMAGE, Inventory(os=None, packages=())])
    assert summary(first[0]) == summary(again[0]) == EXPECTED
    assert again[1] == []
