"""Home (projects), search, a project's repositories and its settings."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from dockyard.admin import AdminError, members
from dockyard.admin import accounts as admin_accounts
from dockyard.admin import tokens as admin_tokens
from dockyard.auth.principal import Principal
from dockyard.http.ui.cleanup_views import settings_context
from dockyard.http.ui.hook_views import hooks_context, project_scope
from dockyard.http.ui.pages import NotAllowed, Ui, back, checked_form, trail
from dockyard.http.ui.usage_bars import usage_bars
from dockyard.validation import InvalidInput, parse_id

DIGEST_PREFIX = re.compile(r"sha256:[0-9a-f]{6,64}")
SHOWN = 50  # search results of a kind on the page

ALL_ABILITIES = frozenset(
    {
        "read",
        "push",
        "delete",
        "manage_members",
        "manage_tokens",
        "manage_policy",
        "admin",
        "start_jobs",
    }
)


def all_abilities(ui: Ui) -> frozenset[str]:
    """What anyone may do with auth off: everything, but deletes when they are off."""
    return ALL_ABILITIES if ui.settings.delete_enabled else ALL_ABILITIES - {"delete"}


class ProjectViews:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    async def visible(self, viewer: Principal) -> list[tuple[object, frozenset[str]]]:
        if self.ui.service is None:
            return [
                (p, all_abilities(self.ui))
                for p in await self.ui.call(admin_accounts.list_projects, self.ui.db)
            ]
        return await self.ui.call(self.ui.service.visible_projects, viewer)

    async def abilities(self, viewer: Principal, path: str) -> frozenset[str]:
        if self.ui.service is None:
            return all_abilities(self.ui)
        found = await self.ui.call(self.ui.service.project_abilities, viewer, path)
        if "read" not in found:
            raise NotAllowed(path)
        return found

    async def home(self, request: Request, viewer: Principal) -> Response:
        projects = await self.visible(viewer)
        return self.ui.render(request, "home.html", viewer=viewer, projects=projects)

    async def search(self, request: Request, viewer: Principal) -> Response:
        query = request.query_params.get("q", "").strip().lower()[:100]
        visible = [project for project, _ in await self.visible(viewer)]
        repositories, tags, places = [], [], []
        if query:
            may_read = await self._may_read(viewer)
            found = await self.ui.call(
                self.ui.registry.repositories_under, [p.path for p in visible], query, 4 * SHOWN
            )
            repositories = [r for r in found if may_read(r.name)][:SHOWN]
            if DIGEST_PREFIX.fullmatch(query):  # a pasted digest: where does it live?
                found = await self.ui.call(self.ui.registry.where_digest, query)
                places = [p for p in found if may_read(p[0])][:SHOWN]
            else:
                found = await self.ui.call(self.ui.registry.tags_named, query)
                tags = [t for t in found if may_read(t[0])][:SHOWN]
        return self.ui.render(
            request,
            "search.html",
            viewer=viewer,
            query=query,
            projects=[p for p in visible if query in p.path],
            repositories=repositories,
            tags=tags,
            places=places,
        )

    async def _may_read(self, viewer: Principal):  # noqa: ANN202 - a predicate
        if self.ui.service is None:
            return lambda _name: True
        return await self.ui.call(self.ui.service.readable, viewer)

    async def project(self, request: Request, viewer: Principal) -> Response:
        path = request.path_params["project"]
        abilities = await self.abilities(viewer, path)
        name_filter = request.query_params.get("name", "")[:255]
        sort = request.query_params.get("sort", "name")
        rows = await self.ui.call(self.ui.registry.project_repositories, path, name_filter)
        if sort == "pushed":
            rows.sort(
                key=lambda r: r.last_pushed_at.timestamp() if r.last_pushed_at else 0, reverse=True
            )
        project = await self.ui.call(admin_accounts.find_project, self.ui.db, path)
        bars = await usage_bars(self.ui, path)
        return self.ui.render(
            request,
            "project.html",
            viewer=viewer,
            crumbs=trail(path),
            project=project,
            abilities=abilities,
            repositories=rows,
            name=name_filter,
            sort=sort,
            usage_bars=bars,
            **await hooks_context(self.ui, await project_scope(self.ui, path, abilities)),
        )

    async def settings(self, request: Request, viewer: Principal) -> Response:
        path = request.path_params["project"]
        abilities = await self.abilities(viewer, path)
        if not abilities & {"manage_members", "admin"}:
            raise NotAllowed(path)
        project = await self.ui.call(admin_accounts.find_project, self.ui.db, path)
        listed = await self.ui.call(members.list_members, self.ui.db, path)
        tokens = await self.ui.call(admin_tokens.list_tokens, self.ui.db, project=path)
        rules = []
        if "manage_policy" in abilities:
            rules = await self.ui.call(self.ui.tag_rules.list, project)
        return self.ui.render(
            request,
            "settings.html",
            viewer=viewer,
            project=project,
            abilities=abilities,
            members=listed,
            deploy_tokens=[t for t in tokens if t.kind == "deploy"],
            tag_rules=rules,
            created=request.session.pop("new_token", None),
            **await settings_context(self.ui, project, abilities),
        )

    async def change(self, request: Request, viewer: Principal) -> Response:
        """One POST target for the settings forms; each checks its own ability."""
        path = request.path_params["project"]
        abilities = await self.abilities(viewer, path)
        form = await checked_form(request)
        action = str(form.get("action", ""))
        need = {
            "visibility": "admin",
            "add_member": "manage_members",
            "remove_member": "manage_members",
            "create_deploy_token": "manage_tokens",
            "revoke_token": "manage_tokens",
            "add_tag_rule": "manage_policy",
            "remove_tag_rule": "manage_policy",
        }.get(action)
        if need is None or need not in abilities:
            raise NotAllowed(path)
        try:
            message = await self._apply(request, viewer, path, action, form, abilities)
        except (AdminError, InvalidInput) as error:
            message = str(error)
        return back(f"/p/{path}/-/settings", message, request)

    async def _apply(
        self,
        request: Request,
        viewer: Principal,
        path: str,
        action: str,
        form: dict,
        abilities: frozenset[str],
    ) -> str:
        db, call = self.ui.db, self.ui.call
        if action in ("add_tag_rule", "remove_tag_rule"):
            return await self._tag_rule(viewer, path, action, form)
        if action == "visibility":
            await call(admin_accounts.set_visibility, db, path, str(form.get("visibility")))
            return "visibility saved"
        if action == "add_member":
            username, role = str(form.get("username", "")), str(form.get("role", ""))
            await call(members.add_member, db, username, path, role, viewer)
            return "member saved"
        if action == "remove_member":
            await call(members.remove_member, db, str(form.get("username", "")), path, viewer)
            return "member removed"
        if action == "create_deploy_token":
            scopes = [s for s in ("read_registry", "write_registry") if form.get(s)]
            if not scopes:
                raise InvalidInput(
                    "No deploy token was created: choose at least one scope (read_registry "
                    "to pull images, write_registry to push them)."
                )
            issued = await call(
                admin_tokens.create_deploy,
                db,
                path,
                str(form.get("name") or "deploy"),
                scopes,
                None,
                None,
                viewer.name,
            )
            request.session["new_token"] = [issued.username, issued.secret]
            return "deploy token created"
        tokens = await call(admin_tokens.list_tokens, db, project=path)
        token_id = parse_id(form.get("token_id"), "token_id")
        if token_id in {t.id for t in tokens if t.kind == "deploy"}:
            await call(admin_tokens.revoke, db, token_id, viewer.name)
        return "token revoked"

    async def _tag_rule(self, viewer: Principal, path: str, action: str, form: dict) -> str:
        """Add or remove a tag protection rule; an immutable rule ignores the role fields."""
        call = self.ui.call
        project = await call(admin_accounts.find_project, self.ui.db, path)
        level = await call(self.ui.protection.level, viewer, path)
        if action == "remove_tag_rule":
            rule_id = parse_id(form.get("rule_id"), "rule_id")
            await call(self.ui.tag_rules.remove, project, rule_id, level, viewer.actor)
            return "tag protection rule removed"
        immutable = bool(form.get("immutable"))
        push, delete = (
            (None, None)
            if immutable
            else (
                form.get("minimum_access_level_for_push") or None,
                form.get("minimum_access_level_for_delete") or None,
            )
        )
        pattern = str(form.get("tag_name_pattern") or "")
        rule = await call(
            self.ui.tag_rules.add, project, pattern, push, delete, immutable, level, viewer.actor
        )
        return f"tags matching '{rule.tag_name_pattern}' are now " + (
            "immutable" if immutable else "protected"
        )
