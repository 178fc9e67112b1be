"""A project's or a group's webhooks on its page: state, recent deliveries, and the
buttons that add a hook, send a test ping, redeliver, re-enable a failing hook and delete
one. Maintainers and above, as the REST API; every action goes through ``admin.hooks``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from dockyard.admin import AdminError
from dockyard.admin import accounts as admin_accounts
from dockyard.admin.hooks import Hooks, Scope
from dockyard.auth.principal import Principal
from dockyard.db.queries.hooks import DeliveryRow, HookRow
from dockyard.http.event_origin import origin
from dockyard.http.ui.pages import NotAllowed, Ui, back, checked_form
from dockyard.validation import InvalidInput, parse_id
from dockyard.webhooks.events import EVENTS

RECENT = 5  # deliveries shown per hook


@dataclass(frozen=True)
class ShownHook:
    hook: HookRow
    deliveries: list[DeliveryRow]


async def hooks_context(ui: Ui, scope: Scope | None) -> dict:
    """What a page needs to show a scope's hooks; ``scope`` None: the viewer may not
    manage them, and the section is not shown."""
    if ui.hooks is None or scope is None:
        return {"hooks": None}
    shown = [
        ShownHook(h, await ui.call(ui.hooks.deliveries, scope, h.id, RECENT))
        for h in await ui.call(ui.hooks.list, scope)
    ]
    prefix = "/p/" if scope.project_id is not None else "/g/"
    return {
        "hooks": shown,
        "hook_events": EVENTS,
        "hooks_action": f"{prefix}{scope.path}/-/hooks",
        "hooks_scope": scope.path,
    }


async def project_scope(ui: Ui, path: str, abilities: frozenset[str]) -> Scope | None:
    if "manage_policy" not in abilities:
        return None
    project = await ui.call(admin_accounts.find_project, ui.db, path)
    return Scope(project.path, project_id=project.id)


class HookViews:
    def __init__(self, ui: Ui, hooks: Hooks, abilities: object) -> None:
        self.ui = ui
        self.hooks = hooks
        self.abilities = abilities  # ProjectViews.abilities: (viewer, path) -> abilities

    async def change(self, request: Request, viewer: Principal) -> Response:
        """The POST target of a project's hook buttons and add form."""
        path = request.path_params["project"]
        abilities = await self.abilities(viewer, path)  # type: ignore[operator]
        scope = await project_scope(self.ui, path, abilities)
        if scope is None:
            raise NotAllowed(path)
        return await self._answer(request, viewer, scope, f"/p/{path}#webhooks")

    async def change_group(self, request: Request, viewer: Principal) -> Response:
        """The same for a group's hooks (Maintainers of the group)."""
        path = request.path_params["group"]
        if self.ui.service is not None:
            abilities = await self.ui.call(self.ui.service.group_abilities, viewer, path)
            if "manage" not in abilities:
                raise NotAllowed(path)
        try:
            scope = await self.ui.call(self.hooks.group_scope, path)
        except AdminError:
            raise NotAllowed(path) from None
        return await self._answer(request, viewer, scope, f"/g/{path}#webhooks")

    async def _answer(self, request: Request, viewer: Principal, scope: Scope, to: str) -> Response:
        form = await checked_form(request)
        try:
            message = await self._apply(request, viewer, scope, form)
        except (AdminError, InvalidInput) as error:
            message = str(error)
        return back(to, message, request)

    async def _apply(self, request: Request, viewer: Principal, scope: Scope, form: dict) -> str:
        call, action = self.ui.call, str(form.get("action", ""))
        if action == "add":
            fields = {
                "url": str(form.get("url", "")).strip(),
                "secret": str(form.get("secret", "")),
                "events": [e for e in EVENTS if form.get(f"event_{e}")],
                "repository_regex": str(form.get("repository_regex", "")).strip() or None,
            }
            hook = await call(self.hooks.create, scope, fields, viewer.actor)
            return f"webhook {hook.id} added"
        hook_id = parse_id(form.get("hook_id"), "hook_id")
        if action == "test":
            await call(self.hooks.ping, scope, hook_id, origin(request, self.ui.settings, viewer))
            return "test ping queued"
        if action == "redeliver":
            delivery_id = str(form.get("delivery_id", ""))[:36]
            await call(self.hooks.redeliver, scope, hook_id, delivery_id)
            return "delivery queued again"
        if action == "enable":
            await call(self.hooks.update, scope, hook_id, {"enabled": True}, viewer.actor)
            return f"webhook {hook_id} enabled"
        if action == "delete":
            await call(self.hooks.delete, scope, hook_id)
            return f"webhook {hook_id} deleted"
        raise InvalidInput("unknown action")
