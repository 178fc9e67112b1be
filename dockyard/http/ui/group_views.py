"""A group's page: its storage against the limit, and the projects in it the viewer sees."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dockyard.admin import NotFound
from dockyard.admin import accounts as admin_accounts
from dockyard.admin import usage as admin_usage
from dockyard.auth.principal import Principal
from dockyard.http.ui.hook_views import hooks_context
from dockyard.http.ui.pages import NotAllowed, Ui, trail
from dockyard.http.ui.project_views import ProjectViews
from dockyard.http.ui.usage_bars import bar, usage_bars


class GroupViews:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui
        self.projects = ProjectViews(ui)

    async def group(self, request: Request, viewer: Principal) -> Response:
        path = request.path_params["group"]
        abilities = frozenset({"read", "manage"})
        if self.ui.service is not None:
            abilities = await self.ui.call(self.ui.service.group_abilities, viewer, path)
            if "read" not in abilities:
                raise NotAllowed(path)
        try:
            bars = await usage_bars(self.ui, path, "group")
        except NotFound:
            raise NotAllowed(path) from None
        visible = [
            p for p, _ in await self.projects.visible(viewer) if p.path.startswith(path + "/")
        ]
        usages = await self.ui.call(admin_usage.projects_usage, self.ui.db, visible)
        subgroups = await self._subgroups(viewer, path)
        rows = [(p, bar(usages[p.id])) for p in visible]
        scope = None
        if "manage" in abilities and self.ui.hooks is not None:
            scope = await self.ui.call(self.ui.hooks.group_scope, path)
        return self.ui.render(
            request,
            "group.html",
            viewer=viewer,
            crumbs=trail(group=path),
            group=path,
            usage_bars=bars,
            projects=rows,
            subgroups=subgroups,
            may_create="manage" in abilities and viewer.kind == "user",
            **await hooks_context(self.ui, scope),
        )

    async def _subgroups(self, viewer: Principal, path: str) -> list[str]:
        """The groups right below ``path`` that the viewer may see."""
        every = await self.ui.call(admin_accounts.list_groups, self.ui.db)
        below = [g for g in every if g.startswith(path + "/") and "/" not in g[len(path) + 1 :]]
        if self.ui.service is None:
            return sorted(below)
        shown = []
        for group in sorted(below):
            abilities = await self.ui.call(self.ui.service.group_abilities, viewer, group)
            if "read" in abilities:
                shown.append(group)
        return shown
