"""A project's cleanup policy in the UI: its card on the settings page, saving it, a
preview page (the no-JavaScript path of the live preview) and the record of its runs.

With JavaScript, ``static/cleanup.js`` asks the REST preview on every change instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.admin import AdminError
from dockyard.admin import accounts as admin_accounts
from dockyard.admin.cleanup_policy import CADENCES, KEEP_N_MAX, OLDER_THAN, Policy
from dockyard.auth.principal import Principal
from dockyard.db.records import ProjectRecord
from dockyard.http.ui.pages import NotAllowed, Ui, back, checked_form
from dockyard.validation import InvalidInput, parse_id, parse_int

RUNS_PER_PAGE = 20
SHOWN_PER_REPOSITORY = 200  # a preview of 10,000 tags lists the first ones and counts the rest
TEXT_FIELDS = ("name_regex", "name_regex_keep", "repository_regex")


def form_values(policy: Policy) -> dict[str, Any]:
    """What the form's fields show for a policy (empty text for null)."""
    return {
        "enabled": policy.enabled,
        "cadence": policy.cadence,
        "keep_n": "" if policy.keep_n is None else str(policy.keep_n),
        "older_than": policy.older_than or "",
        **{name: getattr(policy, name) or "" for name in TEXT_FIELDS},
    }


def form_changes(form: dict[str, Any]) -> dict[str, Any]:
    """The policy's fields from a posted form (an unchecked box is 'off', empty is null)."""
    keep_n = str(form.get("keep_n") or "").strip()
    return {
        "enabled": bool(form.get("enabled")),
        "cadence": str(form.get("cadence", "")),
        "keep_n": parse_int(keep_n, 1, KEEP_N_MAX, "keep_n") if keep_n else None,
        "older_than": str(form.get("older_than") or "") or None,
        **{name: str(form.get(name) or "") or None for name in TEXT_FIELDS},
    }


def choices() -> dict[str, Any]:
    return {
        "cadences": list(CADENCES),
        "ages": list(OLDER_THAN),
        "keep_n_max": KEEP_N_MAX,
        "shown_per_repository": SHOWN_PER_REPOSITORY,
    }


async def settings_context(ui: Ui, project: ProjectRecord, abilities: frozenset[str]) -> dict:
    """What the settings page's cleanup card needs (nothing for those who may not manage it)."""
    if "manage_policy" not in abilities:
        return {}
    stored = await ui.call(ui.cleanup.stored, project)
    runs, total = await ui.call(ui.cleanup.runs, project, 0, 5)
    return {
        "cleanup": stored,
        "cleanup_values": form_values(stored.policy),
        "cleanup_runs": runs,
        "cleanup_run_total": total,
        **choices(),
    }


class CleanupViews:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    async def _project(self, viewer: Principal, path: str, need: str) -> ProjectRecord:
        if self.ui.service is not None:
            abilities = await self.ui.call(self.ui.service.project_abilities, viewer, path)
            if "read" not in abilities or need not in abilities:
                raise NotAllowed(path)
        return await self.ui.call(admin_accounts.find_project, self.ui.db, path)

    async def save(self, request: Request, viewer: Principal) -> Response:
        path = request.path_params["project"]
        project = await self._project(viewer, path, "manage_policy")
        form = await checked_form(request)
        try:
            changes = form_changes(form)
            await self.ui.call(self.ui.cleanup.save, project, changes, viewer.actor, viewer.name)
            message = "cleanup policy saved"
        except (AdminError, InvalidInput) as error:
            message = f"cleanup policy not saved: {error}"
        return back(f"/p/{path}/-/settings#cleanup", message, request)

    async def preview(self, request: Request, viewer: Principal) -> Response:
        """The form as posted, and what it would delete now; nothing is saved."""
        path = request.path_params["project"]
        project = await self._project(viewer, path, "manage_policy")
        form = await checked_form(request)
        found, error = None, None
        try:
            found = await self.ui.call(self.ui.cleanup.preview, project, form_changes(form))
        except (AdminError, InvalidInput) as problem:
            error = str(problem)
        values = {**form_values(Policy()), **{k: form.get(k) or "" for k in form}}
        values["enabled"] = bool(form.get("enabled"))
        return self.ui.render(
            request,
            "cleanup_preview.html",
            status=400 if error else 200,
            viewer=viewer,
            project=project,
            cleanup_values=values,
            preview=found,
            error=error,
            **choices(),
        )

    async def runs(self, request: Request, viewer: Principal) -> Response:
        path = request.path_params["project"]
        project = await self._project(viewer, path, "read")
        page = parse_int(request.query_params.get("page", "1"), 1, 100000, "page")
        offset = (page - 1) * RUNS_PER_PAGE
        rows, total = await self.ui.call(self.ui.cleanup.runs, project, offset, RUNS_PER_PAGE)
        pages = max(1, math.ceil(total / RUNS_PER_PAGE))
        return self.ui.render(
            request,
            "cleanup_runs.html",
            viewer=viewer,
            project=project,
            runs=rows,
            total=total,
            page=page,
            pages=pages,
        )

    async def run(self, request: Request, viewer: Principal) -> Response:
        path = request.path_params["project"]
        project = await self._project(viewer, path, "read")
        run_id = parse_id(request.path_params["run_id"], "run")
        try:
            found = await self.ui.call(self.ui.cleanup.run_report, project, run_id)
        except AdminError:
            raise NotAllowed(path) from None
        return self.ui.render(
            request, "cleanup_run.html", viewer=viewer, project=project, run=found
        )


def cleanup_routes(ui: Ui, page: Callable[[Any], Any]) -> list[Route]:
    """The cleanup pages; listed before the catch-all /p/{project} routes."""
    views = CleanupViews(ui)
    base = "/p/{project:path}/-/cleanup"
    return [
        Route(base, page(views.save), methods=["POST"]),
        Route(f"{base}/preview", page(views.preview), methods=["POST"]),
        Route(f"{base}/runs", page(views.runs), methods=["GET"]),
        Route(f"{base}/runs/{{run_id}}", page(views.run), methods=["GET"]),
    ]
