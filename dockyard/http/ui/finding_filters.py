"""Which findings a Vulnerabilities page shows, read from its query string.

The filters are plain GET parameters so they work without JavaScript and can be shared
as links: ``severity`` (repeatable; none means every severity), ``package`` (part of a
package or source package name, any case) and ``fix`` (``fixed`` or ``unfixed``).
Values a form could not have sent are ignored rather than refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.scan.model import SEVERITIES

FIXES = {"": "Fixed or not", "fixed": "A fix exists", "unfixed": "No fix yet"}
MAX_PACKAGE = 128


@dataclass(frozen=True)
class FindingFilter:
    severities: frozenset[str] = frozenset()
    package: str = ""
    fix: str = ""

    @classmethod
    def from_query(cls, params: Any) -> FindingFilter:  # noqa: ANN401 - Starlette's QueryParams
        chosen = frozenset(s for s in params.getlist("severity") if s in SEVERITIES)
        fix = params.get("fix", "")
        return cls(
            severities=chosen,
            package=params.get("package", "").strip()[:MAX_PACKAGE],
            fix=fix if fix in FIXES else "",
        )

    @property
    def active(self) -> bool:
        return bool(self.severities or self.package or self.fix)

    def keeps(self, finding: Mapping[str, Any]) -> bool:
        if self.severities and finding["severity"] not in self.severities:
            return False
        if self.fix and bool(finding["fixed_version"]) != (self.fix == "fixed"):
            return False
        if self.package:
            wanted = self.package.lower()
            names = (finding["package_name"], finding["source_name"] or "")
            return any(wanted in name.lower() for name in names)
        return True

    def apply(self, findings: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The findings kept, in the order given (the report's: worst first)."""
        return [f for f in findings if self.keeps(f)]
