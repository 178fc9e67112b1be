"""Whether a project's vulnerability policy lets a manifest be pulled: a pure decision.

The inputs are plain values (the policy, the scan status, the findings that reach the
threshold, the exceptions), so the rule is tested without a database and the pull path
can load exactly what it needs. Decisions written down in docs/scanning.md:

- Only findings with a known severity count: ``unknown`` never reaches a threshold.
- ``unsupported`` scans (artifacts that are not container images: signatures, SBOMs,
  Helm charts) are never blocked, even with ``block_unscanned``; anything else without a
  finished scan (not queued yet, queued, scanning, failed) is "unscanned".
- An exception names an advisory id; it covers a finding whose id or any alias matches,
  until ``expires_at`` (no expiry: until deleted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dockyard.scan.model import SEVERITIES

BLOCKABLE = SEVERITIES[:-1]  # critical, high, medium, low: "unknown" never blocks
WORST_SHOWN = 3  # advisories named in a refusal: enough to act on, short enough to read


@dataclass(frozen=True, slots=True)
class Policy:
    block_severity: str | None = None
    block_unscanned: bool = False
    allow_maintainers: bool = False

    @property
    def active(self) -> bool:
        return self.block_severity is not None or self.block_unscanned

    def blocking(self) -> tuple[str, ...]:
        """The severities that block: the threshold and everything worse."""
        if self.block_severity is None:
            return ()
        return BLOCKABLE[: BLOCKABLE.index(self.block_severity) + 1]

    def describe(self) -> str:
        parts = []
        if self.block_severity is not None:
            worse = "" if self.block_severity == "critical" else " or worse"
            parts.append(f"blocks {self.block_severity}{worse} findings")
        if self.block_unscanned:
            parts.append("blocks images not scanned yet")
        return " and ".join(parts) or "blocks nothing"


@dataclass(frozen=True, slots=True)
class Exemption:
    advisory_id: str
    expires_at: datetime | None

    def applies(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True)
class Finding:
    advisory_id: str
    aliases: tuple[str, ...]
    severity: str
    package: str


def _rank(finding: Finding) -> int:
    return SEVERITIES.index(finding.severity)


def counted(
    policy: Policy, findings: list[Finding], exemptions: list[Exemption], now: datetime
) -> list[Finding]:
    """The findings that reach the threshold and no live exception covers, worst first."""
    blocking = policy.blocking()
    accepted = {e.advisory_id.upper() for e in exemptions if e.applies(now)}
    left = [
        f
        for f in findings
        if f.severity in blocking
        and f.advisory_id.upper() not in accepted
        and not any(a.upper() in accepted for a in f.aliases)
    ]
    return sorted(left, key=lambda f: (_rank(f), f.advisory_id, f.package))


def refusal(
    project: str,
    policy: Policy,
    status: str | None,
    findings: list[Finding],
    exemptions: list[Exemption],
    now: datetime,
) -> str | None:
    """Why the pull is refused (a message for the client to print), or None to allow it."""
    if not policy.active or status == "unsupported":
        return None
    rule = f"project {project}'s vulnerability policy {policy.describe()}"
    if status != "done":
        if not policy.block_unscanned:
            return None
        state = "has not been scanned" if status is None else f"scan is {status}"
        return f"pull refused: this image {state} and {rule}; try again after the scan"
    left = counted(policy, findings, exemptions, now)
    if not left:
        return None
    shown = ", ".join(f"{f.advisory_id} ({f.severity}, {f.package})" for f in left[:WORST_SHOWN])
    more = f" and {len(left) - WORST_SHOWN} more" if len(left) > WORST_SHOWN else ""
    noun = "finding" if len(left) == 1 else "findings"
    return (
        f"pull refused: {len(left)} {noun} {shown}{more}; {rule}. Rebuild the image with "
        f"fixed packages, or ask a maintainer to add a vulnerability exception"
    )
