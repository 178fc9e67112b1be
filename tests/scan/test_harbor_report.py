"""Harbor's report shapes mapped to Dockyard's findings (dockyard.scan.harbor), no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.scan import harbor
from dockyard.scan.harbor import ReportError, ScanTarget
from dockyard.scan.model import Inventory, OSInfo, Package

L1, L2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
TARGET = ScanTarget(
    "acme/app", "sha256:" + "a" * 64, "application/vnd.oci.image.manifest.v1+json", (L1, L2)
)
OCI = "application/vnd.oci.image.manifest.v1+json"
SSL = Package(
    "libssl3",
    "3.0.11-1",
    "Debian:12",
    "deb",
    L1,
    "var/lib/dpkg/status",
    source_name="openssl",
    source_version="3.0.11-1",
    namespace="debian",
)
JAR = "Maven"
LOG4J_A = Package("org.apache:log4j", "2.14.1", JAR, "maven", L1, "a.jar")
LOG4J_B = Package("org.apache:log4j", "2.14.1", JAR, "maven", L2, "b.jar")
INVENTORY = Inventory(OSInfo("debian", "12"), (SSL, LOG4J_A, LOG4J_B))


def report(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"artifact": {"digest": TARGET.digest}, "vulnerabilities": list(items), **extra}


def item(**fields: Any) -> dict[str, Any]:
    return {"id": "CVE-1", "package": "libssl3", "version": "3.0.11-1", **fields}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Critical", "critical"),
        ("High", "high"),
        ("Medium", "medium"),
        ("Low", "low"),
        ("Negligible", "low"),
        ("Unknown", "unknown"),
        ("SEVERE", "unknown"),
        (None, "unknown"),
    ],
)
def test_severity_scale(given: str | None, expected: str) -> None:
    (found,) = harbor.findings(report(item(severity=given)), TARGET, INVENTORY)
    assert found.severity == expected


def test_a_finding_takes_the_inventory_package_and_the_report_fields() -> None:
    description = "\n  openssl: slow DH checks  \nmore text"
    raw = item(fix_version="3.0.11-2", description=description, links=["https://x"])
    (found,) = harbor.findings(report(raw), TARGET, INVENTORY)
    assert found.package == SSL
    assert (found.advisory_id, found.aliases, found.fixed_version) == ("CVE-1", (), "3.0.11-2")
    assert found.summary == "openssl: slow DH checks"
    unfixed = harbor.findings(report(item(fix_version="")), TARGET, INVENTORY)[0]
    assert unfixed.fixed_version is None


def test_a_package_the_walker_did_not_see_is_kept_bare() -> None:
    raw = item(package="rustls", version="0.20.0", layer={"digest": L2})
    (found,) = harbor.findings(report(raw), TARGET, INVENTORY)
    assert (found.package.name, found.package.version) == ("rustls", "0.20.0")
    assert (found.package.ecosystem, found.package.purl_type, found.package.path) == (
        "",
        "generic",
        "",
    )
    assert found.package.layer_digest == L2
    foreign = item(package="rustls", version="0.20.0", layer={"digest": "sha256:" + "9" * 64})
    assert harbor.findings(report(foreign), TARGET, INVENTORY)[0].package.layer_digest == ""


def test_copies_of_one_package_each_get_the_advisory() -> None:
    log4j = {"package": "org.apache:log4j", "version": "2.14.1", "id": "CVE-2021-44228"}
    found = harbor.findings(report(log4j, dict(log4j)), TARGET, INVENTORY)
    assert [f.package.path for f in found] == ["a.jar", "b.jar"]
    by_layer = harbor.findings(report({**log4j, "layer": {"digest": L2}}), TARGET, INVENTORY)
    assert by_layer[0].package.path == "b.jar"


@pytest.mark.parametrize(
    ("fields", "score"),
    [
        ({"preferred_cvss": {"score_v3": 9.81, "score_v2": 5.0}}, 9.8),
        ({"preferred_cvss": {"score_v2": 5.0}}, 5.0),
        (
            {"vendor_attributes": {"CVSS": {"redhat": {"V3Score": 6.1}, "nvd": {"V3Score": 7.5}}}},
            7.5,
        ),
        ({"vendor_attributes": {"CVSS": {"redhat": {"V2Score": 4.3}}}}, 4.3),
        ({"preferred_cvss": {"score_v3": 11}}, None),
        ({"preferred_cvss": {"score_v3": True}}, None),
        ({"preferred_cvss": {"score_v3": "9.8"}}, None),
        ({}, None),
    ],
)
def test_cvss_score(fields: dict[str, Any], score: float | None) -> None:
    assert harbor.findings(report(item(**fields)), TARGET, INVENTORY)[0].cvss_score == score


def test_long_strings_are_cut_to_the_columns() -> None:
    (found,) = harbor.findings(
        report(item(id="X" * 300, package="p" * 600, version="v" * 300)), TARGET, INVENTORY
    )
    assert len(found.advisory_id) == 200
    assert (len(found.package.name), len(found.package.version)) == (500, 255)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "not a JSON object"),
        (report(artifact={"digest": "sha256:" + "b" * 64}), "its report is for sha256:bbb"),
        ({"vulnerabilities": {"id": "x"}}, "not a list"),
        (report({"package": "libssl3"}), "vulnerability 1 of its report has no id or package"),
        (report(item(), "junk"), "vulnerability 2 of its report has no id or package"),
    ],
)
def test_malformed_reports_are_refused(body: Any, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        harbor.findings(body, TARGET, INVENTORY)


def test_an_empty_report_has_no_findings() -> None:
    assert harbor.findings({"vulnerabilities": None}, TARGET, INVENTORY) == []


def metadata(*capabilities: dict[str, Any]) -> dict[str, Any]:
    return {"scanner": {"name": "Trivy", "version": "0.50"}, "capabilities": list(capabilities)}


def test_report_type_prefers_1_1_and_keeps_the_adapters_spelling() -> None:
    both = {
        "consumes_mime_types": [OCI],
        "produces_mime_types": [
            "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0",
            "Application/vnd.security.vulnerability.report;version=1.1",
        ],
    }  # no "type": a vulnerability capability, as before v1.2
    chosen = harbor.report_type(metadata(both), OCI)
    assert chosen == "Application/vnd.security.vulnerability.report;version=1.1"
    assert harbor.scanner_name(metadata()) == "Trivy 0.50"


def test_report_type_refusals_say_what_the_adapter_offers() -> None:
    sbom_only = {"type": "sbom", "consumes_mime_types": [OCI], "produces_mime_types": ["x"]}
    docker = {
        "type": "vulnerability",
        "consumes_mime_types": ["application/vnd.docker.distribution.manifest.v2+json"],
        "produces_mime_types": [harbor.REPORT_TYPES[0]],
    }
    with pytest.raises(ReportError, match=r"does not scan .*oci.* \(it consumes: .*docker"):
        harbor.report_type(metadata(sbom_only, docker), OCI)
    raw_only = {"consumes_mime_types": [OCI], "produces_mime_types": ["application/raw"]}
    with pytest.raises(ReportError, match="no vulnerability report Dockyard reads"):
        harbor.report_type(metadata(raw_only), OCI)
    with pytest.raises(ReportError, match="no list of capabilities"):
        harbor.report_type({"scanner": {}}, OCI)


def test_scan_request_body() -> None:
    target = ScanTarget("acme/app", TARGET.digest, OCI)
    body = harbor.scan_request(target, "http://dockyard:5000", "Bearer t", harbor.REPORT_TYPES[0])
    assert body == {
        "registry": {"url": "http://dockyard:5000", "authorization": "Bearer t"},
        "artifact": {"repository": "acme/app", "digest": TARGET.digest, "mime_type": OCI},
        "enabled_capabilities": [
            {"type": "vulnerability", "produces_mime_types": [harbor.REPORT_TYPES[0]]}
        ],
    }
    open_registry = harbor.scan_request(target, "http://d", None, harbor.REPORT_TYPES[0])
    assert open_registry["registry"] == {"url": "http://d"}
    assert harbor.scan_id({"id": "42"}) == "42"
    with pytest.raises(ReportError):
        harbor.scan_id({"id": ""})
    assert harbor.error_message({"error": {"message": "boom"}}) == "boom"
    assert harbor.error_message({"detail": "x"}) is None
