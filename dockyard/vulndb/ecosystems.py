"""Which OSV ecosystems we understand, their canonical names, and package name rules.

OSV names an OS ecosystem with its release (``Debian:12``, ``Alpine:v3.19``); Ubuntu adds
a suffix (``Ubuntu:22.04:LTS``) that the inventory never has, so it is dropped here and
both sides meet on ``Ubuntu:22.04``. Ubuntu Pro (ESM) advisories are for packages a stock
image does not carry and are skipped.
"""

from __future__ import annotations

import re
from functools import lru_cache

LANGUAGE = ("PyPI", "npm", "Go", "Maven")
OS_FAMILIES = ("Debian", "Ubuntu", "Alpine", "Red Hat", "AlmaLinux", "Rocky Linux")
# Families whose advisories name the source package (dpkg Source:, apk origin, rpm SRPM).
BY_SOURCE = ("Debian", "Ubuntu", "Alpine", "Red Hat", "AlmaLinux", "Rocky Linux")


def family(ecosystem: str) -> str:
    """``Debian:12`` -> ``Debian``."""
    return ecosystem.split(":", 1)[0]


@lru_cache(maxsize=1024)
def canonical(ecosystem: str) -> str | None:
    """The name we store and match on, or None when the ecosystem is not supported."""
    if ecosystem in LANGUAGE:
        return ecosystem
    parts = ecosystem.split(":")
    if parts[0] not in OS_FAMILIES:
        return None
    if parts[0] == "Ubuntu":
        if len(parts) < 2 or parts[1] == "Pro":
            return None
        return f"Ubuntu:{parts[1]}"
    if parts[0] == "Red Hat":
        return "Red Hat"  # OSV's Red Hat names carry product streams, not just a release
    if len(parts) == 2 and parts[0] == "Alpine":
        # OSV says v3.19; an os-release may say 3.19.1: both mean the v3.19 branch
        return "Alpine:v" + ".".join(parts[1].removeprefix("v").split(".")[:2])
    if len(parts) == 2 and parts[0] == "Debian":
        return "Debian:" + parts[1].split(".")[0]  # point releases share advisories
    return ecosystem


_PEP503 = re.compile(r"[-_.]+")


@lru_cache(maxsize=1024)
def keyed_by_source(ecosystem: str) -> bool:
    """Whether advisories of this ecosystem name source packages, not binaries."""
    return family(ecosystem) in BY_SOURCE


def package_name(ecosystem: str, name: str) -> str:
    """PyPI names compare as PEP 503 normalises them; every other ecosystem as written."""
    if ecosystem == "PyPI":
        return _pep503(name)
    return name


@lru_cache(maxsize=65536)
def _pep503(name: str) -> str:
    return _PEP503.sub("-", name).lower()
