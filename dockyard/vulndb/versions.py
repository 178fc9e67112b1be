"""Version order per ecosystem (through ``univers``) and OSV range semantics.

Each ecosystem compares with its own scheme: dpkg for Debian and Ubuntu (epochs, tildes),
apk for Alpine (``-r`` revisions), rpm for the RHEL family, PEP 440 for PyPI, semver for
npm and Go (Go's ``v`` prefix and ``go`` toolchain prefix dropped), Maven's ordering for
Maven. A version that does not parse never matches: it is logged at debug, not raised,
because one odd package must not fail a whole scan.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from univers.versions import (
    AlpineLinuxVersion,
    DebianVersion,
    MavenVersion,
    PypiVersion,
    RpmVersion,
    SemverVersion,
)

from dockyard.vulndb.ecosystems import family

log = logging.getLogger(__name__)

SCHEMES: dict[str, Any] = {
    "Debian": DebianVersion,
    "Ubuntu": DebianVersion,
    "Alpine": AlpineLinuxVersion,
    "Red Hat": RpmVersion,
    "AlmaLinux": RpmVersion,
    "Rocky Linux": RpmVersion,
    "PyPI": PypiVersion,
    "npm": SemverVersion,
    "Go": SemverVersion,
    "Maven": MavenVersion,
}

# Schemes whose parsed ``.value`` orders correctly on its own: comparing those skips
# univers' attrs wrappers, several times faster. (apk's value is a plain string.)
_BARE = (DebianVersion, RpmVersion, PypiVersion, SemverVersion, MavenVersion)

Range = tuple[str, Sequence[Sequence[str]]]  # (range type, [(event kind, version), ...])


@dataclass(frozen=True)
class Verdict:
    affected: bool
    fixed: str | None = None  # the earliest fix above the installed version, if any


NOT_AFFECTED = Verdict(False)


def scheme_for(ecosystem: str, range_type: str = "ECOSYSTEM") -> Any:
    if range_type == "SEMVER":
        return SemverVersion
    return SCHEMES.get(family(ecosystem))


@lru_cache(maxsize=200_000)
def parse(scheme: Any, text: str) -> Any:
    """The version as ``scheme`` orders it, or None when it does not parse."""
    if scheme is SemverVersion:
        text = text.removeprefix("go").removeprefix("v")
    try:
        parsed = scheme(text)
        return parsed.value if scheme in _BARE else parsed
    except Exception as error:  # univers raises InvalidVersion, and others on odd input
        log.debug("unparseable %s version %r: %s", scheme.__name__, text, error)
        return None


def is_affected(
    ecosystem: str, version: str, ranges: Iterable[Range], versions: Iterable[str] = ()
) -> bool:
    """Whether ``version`` falls in any OSV range or is one of the listed ``versions``."""
    return assess(ecosystem, version, ranges, versions).affected


def assess(
    ecosystem: str, version: str, ranges: Iterable[Range], versions: Iterable[str] = ()
) -> Verdict:
    """Affected or not, and if so the earliest ``fixed`` above ``version``."""
    fixes: list[tuple[Any, str]] = []
    affected = False
    for range_type, events in ranges:
        scheme = scheme_for(ecosystem, range_type)
        installed = parse(scheme, version) if scheme else None
        if installed is None:
            continue
        if _in_range(scheme, installed, events):
            affected = True
            fixes.extend(_later_fixes(scheme, installed, events))
    if not affected:
        affected = _listed(version, versions)
    if not affected:
        return NOT_AFFECTED
    return Verdict(True, _earliest(fixes))


def _earliest(fixes: list[tuple[Any, str]]) -> str | None:
    try:
        return min(fixes, key=lambda pair: pair[0])[1] if fixes else None
    except TypeError:  # SEMVER and ECOSYSTEM ranges of one record: versions of two schemes
        return fixes[0][1]


def _listed(version: str, versions: Iterable[str]) -> bool:
    bare = version.removeprefix("v")
    return any(v == version or v.removeprefix("v") == bare for v in versions)


def _in_range(scheme: Any, installed: Any, events: Sequence[Sequence[str]]) -> bool:
    """OSV's evaluation: walk the events in version order, toggling at each boundary."""
    ordered: list[tuple[int, Any, str]] = []
    limits = []
    for kind, text in events:
        if kind == "introduced" and text == "0":
            ordered.append((0, None, kind))
            continue
        parsed = parse(scheme, text)
        if parsed is None:
            return False  # a range we cannot read must not produce a guess
        if kind == "limit":
            limits.append(parsed)
        else:
            ordered.append((1, parsed, kind))
    if limits and not any(installed < limit for limit in limits):
        return False
    zero = [e for e in ordered if e[0] == 0]
    rest = sorted((e for e in ordered if e[0] == 1), key=lambda e: e[1])
    vulnerable = False
    for _, bound, kind in zero + rest:
        # Only < is trusted: some univers schemes (apk) inherit a wrong >= and <=.
        if kind == "introduced" and (bound is None or not installed < bound):
            vulnerable = True
        elif kind == "fixed":
            vulnerable = vulnerable and installed < bound
        elif kind == "last_affected":
            vulnerable = vulnerable and not bound < installed
    return vulnerable


def _later_fixes(
    scheme: Any, installed: Any, events: Sequence[Sequence[str]]
) -> list[tuple[Any, str]]:
    found = []
    for kind, text in events:
        if kind == "fixed":
            parsed = parse(scheme, text)
            if parsed is not None and installed < parsed:
                found.append((parsed, text))
    return found
