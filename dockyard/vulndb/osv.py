"""Parse one OSV record (https://ossf.github.io/osv-schema/) into what we store.

Only what matching and reporting need is kept: the package ranges of supported ecosystems
(GIT ranges are dropped: an image holds versions, not commits) and one severity, computed
from the record's CVSS vector when there is one, else taken from the ecosystem's own word.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from dockyard.vulndb.ecosystems import canonical, package_name

log = logging.getLogger(__name__)

MAX_ID = 128  # the column widths: longer values are refused, not truncated
MAX_NAME = 255
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
RANGE_TYPES = ("ECOSYSTEM", "SEMVER")
# Newest scoring system first among those the record carries.
CVSS_ORDER = ("CVSS_V3", "CVSS_V4", "CVSS_V2")

# Words the ecosystems use (GHSA, Debian urgency, Ubuntu priority, Red Hat impact).
SEVERITY_WORDS = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "negligible": "low",
    "unimportant": "low",
}


class InvalidRecord(ValueError):
    """The JSON is not an OSV record we can store (no id, no modified date)."""


@dataclass(frozen=True)
class Affected:
    ecosystem: str  # canonical, see ecosystems.canonical
    package: str  # normalised for the ecosystem
    range_type: str  # ECOSYSTEM | SEMVER | "" (explicit versions only)
    events: tuple[tuple[str, str], ...]
    versions: tuple[str, ...]


@dataclass(frozen=True)
class Record:
    id: str
    modified: datetime
    published: datetime | None
    withdrawn: datetime | None
    summary: str
    aliases: tuple[str, ...]
    severity: str
    cvss_score: float | None
    affected: tuple[Affected, ...]
    unsupported: bool  # had affected packages, none in an ecosystem we know


def parse(data: Any) -> Record:
    """One OSV record (parsed JSON) -> Record; raises InvalidRecord on a non-record."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise InvalidRecord("not an OSV record (no id)")
    if not 0 < len(data["id"]) <= MAX_ID or "\x00" in data["id"]:
        raise InvalidRecord(f"{data['id'][:MAX_ID]!r}: not a usable advisory id")
    modified = _time(data.get("modified"))
    if modified is None:
        raise InvalidRecord(f"{data['id']}: no valid 'modified' date")
    raw_affected = [a for a in data.get("affected") or () if isinstance(a, dict)]
    affected = tuple(x for a in raw_affected for x in _affected(a))
    severity, score = _severity(data, raw_affected)
    summary = data.get("summary") or (data.get("details") or "").strip().split("\n", 1)[0]
    return Record(
        id=data["id"],
        modified=modified,
        published=_time(data.get("published")),
        withdrawn=_time(data.get("withdrawn")),
        summary=_text(summary)[:1000],
        aliases=tuple(_text(a) for a in data.get("aliases") or ()),
        severity=severity,
        cvss_score=score,
        affected=affected,
        unsupported=bool(raw_affected) and not affected,
    )


def _text(value: Any) -> str:
    return str(value).replace("\x00", "")  # PostgreSQL text cannot hold NUL


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _affected(entry: dict[str, Any]) -> list[Affected]:
    package = entry.get("package") or {}
    ecosystem = canonical(str(package.get("ecosystem", "")))
    name = package.get("name")
    if ecosystem is None or not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        return []
    if len(ecosystem) > 64 or "\x00" in name:
        return []
    name = package_name(ecosystem, name)
    found = []
    for rng in entry.get("ranges") or ():
        if not isinstance(rng, dict) or rng.get("type") not in RANGE_TYPES:
            continue
        events = tuple(
            (kind, _text(event[kind]))
            for event in rng.get("events") or ()
            if isinstance(event, dict)
            for kind in EVENT_KINDS
            if kind in event
        )
        if events:
            found.append(Affected(ecosystem, name, rng["type"], events, ()))
    versions = tuple(_text(v) for v in entry.get("versions") or ())
    if versions:
        found.append(Affected(ecosystem, name, "", (), versions))
    return found


def _severity(data: dict[str, Any], affected: list[dict[str, Any]]) -> tuple[str, float | None]:
    """critical/high/medium/low/unknown and the CVSS base score when a vector gives one."""
    vectors = list(data.get("severity") or ())
    for entry in affected:
        vectors.extend(entry.get("severity") or ())
    by_type = {
        v.get("type"): v.get("score")
        for v in reversed(vectors)
        if isinstance(v, dict) and isinstance(v.get("score"), str)
    }
    for kind in CVSS_ORDER:
        if kind in by_type:
            score = cvss_score(kind, by_type[kind])
            if score is not None:
                return severity_of_score(score, kind), score
    words = [by_type.get(k) for k in by_type if k not in CVSS_ORDER]  # Ubuntu's own "type"
    for holder in [data, *affected]:
        for key in ("database_specific", "ecosystem_specific"):
            extra = holder.get(key)
            if isinstance(extra, dict):
                words.extend([extra.get("severity"), extra.get("urgency")])
    for word in words:
        if isinstance(word, str) and word.strip().lower() in SEVERITY_WORDS:
            return SEVERITY_WORDS[word.strip().lower()], None
    return "unknown", None


@lru_cache(maxsize=8192)
def cvss_score(kind: str, vector: str) -> float | None:
    """The base score of a CVSS vector, or None when the library rejects it."""
    from cvss import CVSS2, CVSS3, CVSS4

    calculator = {"CVSS_V2": CVSS2, "CVSS_V3": CVSS3, "CVSS_V4": CVSS4}[kind]
    try:
        return float(calculator(vector).base_score)
    except Exception as error:  # the library raises several error types for bad vectors
        log.debug("bad %s vector %r: %s", kind, vector, error)
        return None


def severity_of_score(score: float, kind: str = "CVSS_V3") -> str:
    """CVSS v3/v4 qualitative ratings; v2 has no 'critical' (NVD's v2 bands)."""
    if score >= 9.0 and kind != "CVSS_V2":
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0:
        return "low"
    return "unknown"
