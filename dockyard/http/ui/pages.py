"""What every page handler shares: the signed-in person, CSRF, rendering, formatting."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from dockyard.admin.cleanup_service import Cleanups
from dockyard.admin.hooks import Hooks
from dockyard.admin.registry import RegistryAdmin
from dockyard.admin.tag_protection import TagProtection
from dockyard.admin.tag_rules import TagRules
from dockyard.auth.principal import Principal
from dockyard.auth.service import AccessService
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.http.event_origin import registry_host
from dockyard.http.requestlog import record_principal

SANDBOX = Principal("user", "sandbox", None, is_admin=True)
HERE = Path(__file__).parent
MAX_FORM_FIELDS = 1000  # Starlette's own default, stated so the message can name it


def human_size(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value} B"


# What each ability lets a person do, in the words of the UI (most telling first).
RIGHTS = {
    "admin": "owner",
    "manage_members": "manage members",
    "manage_policy": "set policies",
    "manage_tokens": "deploy tokens",
    "start_jobs": "CI jobs",
    "delete": "delete",
    "push": "push",
    "read": "pull",
}


def rights(abilities: object) -> str:
    """Abilities as people read them: 'pull, push, delete', not internal names."""
    held = set(abilities or ())  # type: ignore[call-overload]
    return ", ".join(label for name, label in reversed(RIGHTS.items()) if name in held)


def ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


def iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def trail(
    project: str | None = None,
    repository: str | None = None,
    tag: str | None = None,
    group: str | None = None,
) -> list[tuple[str, str | None]]:
    """Breadcrumbs, (label, link) from the top group down; the last has no link."""
    crumbs: list[tuple[str, str | None]] = []
    path = project or group or ""
    parts = path.split("/") if path else []
    for n, part in enumerate(parts[:-1] if project else parts, start=1):
        crumbs.append((part, "/g/" + "/".join(parts[:n])))
    if project:
        crumbs.append((parts[-1], f"/p/{project}"))
    if repository:
        inside = repository[len(project) + 1 :] if project else repository
        crumbs.append((inside or repository, f"/r/{repository}"))
    if tag:
        crumbs.append((tag, None))
    if crumbs:
        crumbs[-1] = (crumbs[-1][0], None)
    return crumbs


class NotAllowed(Exception):
    """Show the 'not found' page (we do not tell what exists to those who may not see it)."""


@dataclass
class Ui:
    db: Database
    settings: Settings
    service: AccessService | None
    registry: RegistryAdmin
    templates: Jinja2Templates
    cleanup: Cleanups
    protection: TagProtection
    tag_rules: TagRules
    hooks: Hooks | None = None  # webhooks shown on a project's page

    async def call(self, fn, *args, **kwargs):  # noqa: ANN001, ANN201 - passes through
        return await run_in_threadpool(fn, *args, **kwargs)

    async def viewer(self, request: Request) -> Principal | None:
        """The signed-in person, if any (everyone is an admin when auth is off)."""
        if self.service is None:
            return SANDBOX
        if "sid" not in request.session:
            return None
        viewer = await self.call(self.service.session_principal, request.session["sid"])
        if viewer is not None:
            record_principal(request.scope, viewer, kind="session")
        return viewer

    def host(self, request: Request) -> str:
        return registry_host(request, self.settings)

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> Response:
        context.setdefault("viewer", None)
        return self.templates.TemplateResponse(
            request,
            template,
            {
                "csrf": csrf_token(request),
                "host": self.host(request),
                "auth_on": self.service is not None,
                **context,
            },
            status_code=status,
        )


def csrf_token(request: Request) -> str:
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(24)
    return request.session["csrf"]


async def checked_form(request: Request) -> dict[str, Any]:
    """The posted form, after its CSRF token was checked (403 otherwise).

    A form that cannot be read (too many fields, a file upload: no page takes one) is a
    clear 4xx in plain text, not the registry's JSON that Starlette's refusal would get.
    """
    try:
        form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=0)
    except HTTPException as error:
        raise _unreadable(str(error.detail)) from None
    expected = request.session.get("csrf")
    if not expected or form.get("csrf") != expected:
        raise PermissionError("the form expired; reload the page and try again")
    return {key: form.getlist(key) if key == "tags" else form.get(key) for key in form}


def _unreadable(reason: str) -> HTTPException:
    if reason.startswith("Too many fields"):
        return HTTPException(413, f"too many form fields: a form takes at most {MAX_FORM_FIELDS}")
    if reason.startswith("Too many files"):
        return HTTPException(400, "this form takes no file uploads")
    return HTTPException(400, f"the form could not be read: {reason}")


def back(url: str, message: str | None = None, request: Request | None = None) -> Response:
    if message and request is not None:
        request.session["flash"] = message
    return RedirectResponse(url, status_code=303)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(size=human_size, ago=ago, iso=iso, rights=rights)
    return templates
