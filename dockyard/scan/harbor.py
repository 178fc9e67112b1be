"""The Harbor Pluggable Scanner API (v1.2) as data: media types, the scan request, and a
vulnerability report turned into Dockyard's findings. No I/O (``external`` does that).

The facts this module relies on are written down in docs/scanning.md ("External
scanner"). A report names a package by name and version only, so each finding borrows
the rest (ecosystem, source package, the layer and file it came from) from the image's
own inventory, where the built-in walker found the same package.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.scan.model import Finding, Inventory, Package

METADATA = "application/vnd.scanner.adapter.metadata+json"
SCAN_REQUEST = "application/vnd.scanner.adapter.scan.request+json; version=1.1"
SCAN_RESPONSE = "application/vnd.scanner.adapter.scan.response+json; version=1.0"
# Report types we read, preferred first: both carry the same HarborVulnerabilityReport.
REPORT_TYPES = (
    "application/vnd.security.vulnerability.report; version=1.1",
    "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0",
)
# Harbor's scale -> ours. Negligible ("only theoretical in nature") is low, as the
# advisory importer maps Ubuntu's "negligible" and Debian's "unimportant".
SEVERITY = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "negligible": "low",
    "unknown": "unknown",
}
# Column sizes of scan_findings: an adapter's strings are cut to fit, never refused.
_ID, _NAME, _VERSION, _SUMMARY = 200, 500, 255, 500


class ReportError(ValueError):
    """The adapter's answer is not what the API promises; the message says what is wrong."""


@dataclass(frozen=True)
class ScanTarget:
    """The image manifest to scan, in the repository the adapter pulls it from."""

    repository: str
    digest: str
    media_type: str
    layers: tuple[str, ...] = ()  # layer digests, bottom first


def _mime(value: str) -> tuple[str, tuple[str, ...]]:
    """``type/subtype; k=v`` compared without case or spacing differences."""
    kind, *params = (part.strip().lower() for part in value.split(";"))
    return kind, tuple(sorted(p.replace(" ", "") for p in params if p))


def report_type(metadata: Any, media_type: str) -> str:
    """The report type to ask for: one we read, from a vulnerability capability that
    consumes ``media_type`` (spelt as the adapter spells it)."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get("capabilities"), list):
        raise ReportError("its metadata has no list of capabilities")
    consumed: list[str] = []
    for cap in metadata["capabilities"]:
        if not isinstance(cap, dict) or cap.get("type", "vulnerability") != "vulnerability":
            continue
        consumes = [str(m) for m in cap.get("consumes_mime_types") or []]
        consumed += consumes
        if _mime(media_type) not in {_mime(m) for m in consumes}:
            continue
        produced = {_mime(str(m)): str(m) for m in cap.get("produces_mime_types") or []}
        for wanted in REPORT_TYPES:
            if _mime(wanted) in produced:
                return produced[_mime(wanted)]
        raise ReportError(
            f"it produces no vulnerability report Dockyard reads ({', '.join(produced.values())})"
        )
    raise ReportError(
        f"it does not scan {media_type} manifests (it consumes: {', '.join(consumed) or 'nothing'})"
    )


def scanner_name(metadata: Any) -> str:
    """``Trivy 0.50.1`` for logs, from the metadata's scanner object."""
    scanner = metadata.get("scanner") if isinstance(metadata, dict) else None
    if not isinstance(scanner, dict):
        return "an unnamed scanner"
    return " ".join(str(scanner[k]) for k in ("name", "version") if scanner.get(k)) or "unnamed"


def scan_request(
    target: ScanTarget, registry_url: str, authorization: str | None, report: str
) -> dict[str, Any]:
    """The ScanRequest body: where to pull from, with what, and which report we want."""
    registry: dict[str, str] = {"url": registry_url}
    if authorization:
        registry["authorization"] = authorization
    return {
        "registry": registry,
        "artifact": {
            "repository": target.repository,
            "digest": target.digest,
            "mime_type": target.media_type,
        },
        "enabled_capabilities": [{"type": "vulnerability", "produces_mime_types": [report]}],
    }


def scan_id(body: Any) -> str:
    """The ``id`` of a ScanResponse."""
    found = body.get("id") if isinstance(body, dict) else None
    if not isinstance(found, str) or not found:
        raise ReportError("its scan response has no id")
    return found


def error_message(body: Any) -> str | None:
    """The message of an ErrorResponse ``{"error": {"message": ...}}``, if it is one."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message)[:500] if message else None


def findings(report: Any, target: ScanTarget, inventory: Inventory) -> list[Finding]:
    """Each reported vulnerability as a Finding on the inventory's package of that name
    and version (the reported layer breaking ties), or on a bare package when the
    built-in walker did not see it."""
    if not isinstance(report, dict):
        raise ReportError("its report is not a JSON object")
    artifact = report.get("artifact")
    reported = artifact.get("digest") if isinstance(artifact, dict) else None
    if reported and reported != target.digest:
        raise ReportError(f"its report is for {str(reported)[:100]}, not {target.digest}")
    items = report.get("vulnerabilities") or []
    if not isinstance(items, list):
        raise ReportError("its report's vulnerabilities are not a list")
    packages = _by_name_version(inventory.packages)
    used: set[tuple[str, int]] = set()
    out = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or not (_text(item.get("id")) and _text(item.get("package"))):
            raise ReportError(f"vulnerability {n} of its report has no id or package")
        out.append(_finding(item, target, packages, used))
    return out


def _finding(
    item: Mapping[str, Any],
    target: ScanTarget,
    packages: dict[tuple[str, str], list[Package]],
    used: set[tuple[str, int]],
) -> Finding:
    advisory = _text(item["id"])[:_ID]
    name, version = _text(item["package"])[:_NAME], _text(item.get("version"))[:_VERSION]
    layer = _layer(item.get("layer"), target.layers)
    package = _pick(packages.get((name, version), []), advisory, layer, used)
    if package is None:
        package = Package(name, version, "", "generic", layer or "", "")
    return Finding(
        advisory_id=advisory,
        aliases=(),
        summary=_summary(item.get("description")),
        severity=SEVERITY.get(_text(item.get("severity")).lower(), "unknown"),
        cvss_score=_cvss(item),
        package=package,
        fixed_version=_text(item.get("fix_version"))[:_VERSION] or None,
    )


def _by_name_version(packages: Iterable[Package]) -> dict[tuple[str, str], list[Package]]:
    found: dict[tuple[str, str], list[Package]] = {}
    for package in packages:
        found.setdefault((package.name, package.version), []).append(package)
    return found


def _pick(
    candidates: list[Package], advisory: str, layer: str | None, used: set[tuple[str, int]]
) -> Package | None:
    """The candidate from the reported layer, else the first this advisory has not taken
    yet (an advisory reported twice for one name and version is two copies of it)."""
    if not candidates:
        return None
    order = sorted(range(len(candidates)), key=lambda i: candidates[i].layer_digest != layer)
    free = [i for i in order if (advisory, i) not in used] or order
    used.add((advisory, free[0]))
    return candidates[free[0]]


def _layer(value: Any, layers: tuple[str, ...]) -> str | None:
    """The reported layer (``{"digest": ...}``, an addition Trivy's adapter makes), if it
    is one of the image's."""
    digest = value.get("digest") if isinstance(value, dict) else None
    return digest if digest in layers else None


def _cvss(item: Mapping[str, Any]) -> float | None:
    """``preferred_cvss`` (v3, then v2), else a Trivy-style ``vendor_attributes.CVSS``
    (NVD first, then any source)."""
    preferred = item.get("preferred_cvss")
    candidates: list[Any] = []
    if isinstance(preferred, dict):
        candidates += [preferred.get("score_v3"), preferred.get("score_v2")]
    vendor = item.get("vendor_attributes")
    sources = vendor.get("CVSS") if isinstance(vendor, dict) else None
    if isinstance(sources, dict):
        ordered = sorted(sources.items(), key=lambda kv: kv[0] != "nvd")
        for _, scores in ordered:
            if isinstance(scores, dict):
                candidates += [scores.get("V3Score"), scores.get("V2Score")]
    for score in candidates:
        number = isinstance(score, int | float) and not isinstance(score, bool)
        if number and math.isfinite(score) and 0 <= score <= 10:
            return round(float(score), 1)
    return None


def _summary(description: Any) -> str:
    """The description's first non-empty line: the report has no separate title."""
    for line in _text(description).splitlines():
        if line.strip():
            return line.strip()[:_SUMMARY]
    return ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
