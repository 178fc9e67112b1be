"""New group and new project pages: the forms, and creating under the rule REST applies
(dockyard.admin.creation_rights). A refused form comes back filled in, with what happened
and what to do, as a 400 (the input), 403 (no right) or 404 (no such namespace)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.admin import AdminError, Forbidden, NotFound, creation_rights
from dockyard.admin.accounts import VISIBILITIES
from dockyard.auth.principal import Principal
from dockyard.http.ui.pages import Ui, back, checked_form
from dockyard.oci.names import is_valid_name

SHOWN_NAME = 60  # characters of a refused name repeated in a message


def name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot name a group or project (one path component), or None."""
    if not name:
        return f"Enter a name for the {what}."
    if "/" in name or not is_valid_name(name):
        return (
            f"'{name[:SHOWN_NAME]}' cannot name a {what}: use lowercase letters and digits, "
            "with single . _ or - between them (for example 'web-app'). Change the name and "
            "submit again."
        )
    return None


def place_problem(path: str, what: str) -> str | None:
    """Why ``path`` cannot be the namespace or parent group picked, or None."""
    where = {
        "namespace": "Choose the namespace from the list",
        "parent group": "Open New subgroup on the parent group's page",
    }[what]
    if not path:
        return f"{where}."
    if not is_valid_name(path):
        return f"'{path[:SHOWN_NAME]}' is not a {what}. {where}."
    return None


# What to do after each kind of refusal, by what was being created.
NEXT_STEP = {
    (NotFound, "project"): "Choose a namespace from the list, or create the group first.",
    (NotFound, "subgroup"): "Check the parent group's path, or create a top-level group.",
    (Forbidden, "project"): "Choose another namespace, or ask one of its Owners or "
    "Maintainers to create the project or to make you a Maintainer.",
    (Forbidden, "subgroup"): "Ask one of its Owners or Maintainers to create the subgroup or "
    "to make you a Maintainer, or create a top-level group.",
}


def refusal(error: AdminError, what: str) -> tuple[int, str]:
    """The status and message for a refusal from the admin layer: what happened, then
    what to do."""
    said = str(error)[:1].upper() + str(error)[1:]
    for kind, status in ((NotFound, 404), (Forbidden, 403)):
        if isinstance(error, kind):
            return status, f"{said}. {NEXT_STEP[kind, what]}"
    return 400, f"{said}. Change the name and submit again."


class CreateViews:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    async def project_form(self, request: Request, viewer: Principal) -> Response:
        chosen = request.query_params.get("namespace", "")
        return await self._project_page(request, viewer, {"namespace": chosen})

    async def create_project(self, request: Request, viewer: Principal) -> Response:
        form = await checked_form(request)
        values = {k: str(form.get(k) or "").strip() for k in ("namespace", "name", "visibility")}
        namespace, name, visibility = values["namespace"], values["name"], values["visibility"]
        problem = (
            place_problem(namespace, "namespace")
            or name_problem(name, "project")
            or (None if visibility in VISIBILITIES else "Choose who may see the project.")
        )
        if problem:
            return await self._project_page(request, viewer, values, 400, problem)
        try:
            record = await self.ui.call(
                creation_rights.create_project,
                self.ui.db,
                self.ui.service,
                viewer,
                f"{namespace}/{name}",
                visibility,
            )
        except AdminError as error:
            status, message = refusal(error, "project")
            return await self._project_page(request, viewer, values, status, message)
        return back(f"/p/{record.path}", f"Project {record.path} created.", request)

    async def _project_page(
        self,
        request: Request,
        viewer: Principal,
        values: dict[str, str],
        status: int = 200,
        error: str | None = None,
    ) -> Response:
        namespaces = await self.ui.call(
            creation_rights.project_namespaces, self.ui.db, self.ui.service, viewer
        )
        return self.ui.render(
            request,
            "project_new.html",
            status,
            viewer=viewer,
            namespaces=namespaces,
            values={"visibility": "private", **{k: v for k, v in values.items() if v}},
            error=error,
        )

    async def group_form(self, request: Request, viewer: Principal) -> Response:
        parent = request.query_params.get("parent", "").strip().strip("/")
        problem = parent and place_problem(parent, "parent group")
        if problem:
            return self._group_page(request, viewer, {"parent": ""}, 400, problem, True)
        try:
            await self.ui.call(creation_rights.check_group_in, self.ui.service, viewer, parent)
        except AdminError as error:
            status, message = refusal(error, "subgroup")
            return self._group_page(request, viewer, {"parent": parent}, status, message, True)
        return self._group_page(request, viewer, {"parent": parent})

    async def create_group(self, request: Request, viewer: Principal) -> Response:
        form = await checked_form(request)
        values = {k: str(form.get(k) or "").strip() for k in ("parent", "name")}
        parent, name = values["parent"].strip("/"), values["name"]
        problem = (parent and place_problem(parent, "parent group")) or name_problem(name, "group")
        if problem:
            return self._group_page(request, viewer, values, 400, problem)
        path = f"{parent}/{name}" if parent else name
        try:
            await self.ui.call(
                creation_rights.create_group, self.ui.db, self.ui.service, viewer, path
            )
        except AdminError as error:
            status, message = refusal(error, "subgroup")
            return self._group_page(request, viewer, values, status, message)
        done = f"Group {path} created."
        if not parent and viewer.user_id is not None:
            done = f"Group {path} created; you are its Owner."
        return back(f"/g/{path}", done, request)

    def _group_page(
        self,
        request: Request,
        viewer: Principal,
        values: dict[str, str],
        status: int = 200,
        error: str | None = None,
        refused: bool = False,
    ) -> Response:
        return self.ui.render(
            request,
            "group_new.html",
            status,
            viewer=viewer,
            values=values,
            error=error,
            refused=refused,
        )


def create_routes(ui: Ui, page: Callable[[Any], Any]) -> list[Route]:
    views = CreateViews(ui)
    return [
        Route("/-/projects/new", page(views.project_form), methods=["GET"]),
        Route("/-/projects/new", page(views.create_project), methods=["POST"]),
        Route("/-/groups/new", page(views.group_form), methods=["GET"]),
        Route("/-/groups/new", page(views.create_group), methods=["POST"]),
    ]
