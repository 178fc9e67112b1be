"""Storage used against the limit, as bars with text on project and group pages."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.admin import usage as admin_usage
from dockyard.http.ui.pages import Ui
from dockyard.sizes import format_size


@dataclass(frozen=True)
class Bar:
    label: str  # "project acme/app", "group acme"
    href: str
    used: int
    limit: int | None
    text: str
    over: bool

    @property
    def low(self) -> int:
        """Up to 75% of the limit the meter shows fine; above, a warning."""
        return (self.limit or 0) * 3 // 4

    @property
    def high(self) -> int:
        """From 90% of the limit the meter shows danger."""
        return (self.limit or 0) * 9 // 10


def bar(usage: admin_usage.Usage) -> Bar:
    href = f"/p/{usage.path}" if usage.kind == "project" else f"/g/{usage.path}"
    used, limit = usage.used_bytes, usage.limit_bytes
    if limit is None:
        text = f"{format_size(used)} used, no limit"
    elif used >= limit:  # new uploads are refused from here on (dockyard/registry/quota.py)
        text = f"{format_size(used)} used of {format_size(limit)}: pushes are refused"
    else:
        text = f"{format_size(used)} used of {format_size(limit)} ({used * 100 // limit}%)"
    over = limit is not None and used >= limit
    return Bar(f"{usage.kind} {usage.path}", href, used, limit, text, over)


async def usage_bars(ui: Ui, path: str, kind: str = "project") -> list[Bar]:
    return [bar(u) for u in await ui.call(admin_usage.applicable, ui.db, path, kind)]
