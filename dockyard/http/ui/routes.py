"""The UI's route table, sign-in gate, error pages and secure headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.auth.principal import ANONYMOUS, Principal
from dockyard.http.ui.account_views import AccountViews
from dockyard.http.ui.admin_views import AdminViews
from dockyard.http.ui.cleanup_views import cleanup_routes
from dockyard.http.ui.create_views import create_routes
from dockyard.http.ui.group_views import GroupViews
from dockyard.http.ui.hook_views import HookViews
from dockyard.http.ui.pages import HERE, NotAllowed, Ui, back
from dockyard.http.ui.project_views import ProjectViews
from dockyard.http.ui.repository_views import RepositoryViews
from dockyard.http.ui.storage_views import StorageViews
from dockyard.http.ui.vulnerability_views import VulnerabilityViews
from dockyard.validation import InvalidInput

Handler = Callable[[Request, Principal], Awaitable[Response]]
SECURE_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecureHeaders:
    """Browser hardening for every UI response (the /v2 and /api paths are not pages)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(("/v2", "/api/", "/jwt/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURE_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def signed_in(
    ui: Ui, handler: Handler, visitors: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Pages for signed-in people: others go to the sign-in page and come back. With
    ``visitors`` (pages that only show things) someone not signed in sees the page as
    the anonymous principal instead, so public projects are browsable and private ones
    answer the same 404 as what does not exist."""

    async def endpoint(request: Request) -> Response:
        viewer = await ui.viewer(request)
        if viewer is None and not visitors:  # come back to this page, query included
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return back(f"/-/login?next={quote(here, safe='/')}")
        try:  # error pages below show a visitor (viewer None) no account menu
            return await handler(request, viewer or ANONYMOUS)
        except NotAllowed:
            return ui.render(request, "missing.html", status=404, viewer=viewer)
        except PermissionError as error:
            return ui.render(request, "missing.html", status=403, viewer=viewer, message=str(error))
        except InvalidInput as error:
            return ui.render(
                request,
                "missing.html",
                status=400,
                viewer=viewer,
                heading="Not accepted",
                message=str(error),
            )

    return endpoint


def not_found(ui: Ui) -> Callable[[Request], Awaitable[Response]]:
    """Any other page address: the UI's own 404 page, not the registry's JSON (only /v2
    and /api speak JSON). It says nothing of what exists, signed in or not."""

    async def endpoint(request: Request) -> Response:
        viewer = await ui.viewer(request)
        return ui.render(request, "missing.html", status=404, viewer=viewer)

    return endpoint


async def favicon(_request: Request) -> Response:
    return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")


async def login_alias(request: Request) -> Response:
    """``/login``, where people type it: the sign-in page, with its query kept."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/-/login{query}", status_code=303)


def hook_routes(ui: Ui, projects: ProjectViews, page: Callable) -> list[Route]:
    if ui.hooks is None:
        return []
    views = HookViews(ui, ui.hooks, projects.abilities)
    return [
        Route("/p/{project:path}/-/hooks", page(views.change), methods=["POST"]),
        Route("/g/{group:path}/-/hooks", page(views.change_group), methods=["POST"]),
    ]


def routes(ui: Ui) -> list[Route | Mount]:
    accounts, projects, repositories = AccountViews(ui), ProjectViews(ui), RepositoryViews(ui)
    vulnerabilities = VulnerabilityViews(ui, projects)
    storage = StorageViews(ui)
    admin = AdminViews(ui)
    page = lambda handler: signed_in(ui, handler)  # noqa: E731
    view = lambda handler: signed_in(ui, handler, visitors=True)  # noqa: E731
    return [
        Mount("/-/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        Route("/-/login", accounts.login_form, methods=["GET"]),
        Route("/-/login", accounts.login, methods=["POST"]),
        Route("/-/logout", accounts.logout, methods=["POST"]),
        Route("/", page(projects.home)),
        Route("/-/search", view(projects.search)),
        Route("/-/explore", view(projects.home)),
        Route("/-/settings/tokens", page(accounts.tokens), methods=["GET"]),
        Route("/-/settings/tokens", page(accounts.create_token), methods=["POST"]),
        Route("/-/settings/tokens/revoke", page(accounts.revoke_token), methods=["POST"]),
        Route("/-/settings/password", page(accounts.password_form), methods=["GET"]),
        Route("/-/settings/password", page(accounts.change_password), methods=["POST"]),
        Route("/-/admin/users", page(admin.users), methods=["GET"]),
        Route("/-/admin/users", page(admin.change_user), methods=["POST"]),
        Route("/-/admin/settings", page(admin.settings), methods=["GET"]),
        Route("/-/admin/storage", page(storage.storage), methods=["GET"]),
        *cleanup_routes(ui, page),
        *create_routes(ui, page),
        Route("/p/{project:path}/-/settings", page(projects.settings), methods=["GET"]),
        Route("/p/{project:path}/-/settings", page(projects.change), methods=["POST"]),
        Route("/p/{project:path}/-/vulnerabilities", page(vulnerabilities.project)),
        *hook_routes(ui, projects, page),
        Route("/p/{project:path}", view(projects.project)),
        Route("/r/{repository:path}/-/tags/{tag}/vulnerabilities", page(vulnerabilities.tag)),
        Route(
            "/r/{repository:path}/-/tags/{tag}/scan",
            page(vulnerabilities.rescan),
            methods=["POST"],
        ),
        Route("/g/{group:path}", view(GroupViews(ui).group)),
        Route("/r/{repository:path}/-/tags/{tag}", view(repositories.tag)),
        Route("/r/{repository:path}/-/manifests/{digest}", view(repositories.manifest)),
        Route("/r/{repository:path}/-/manifests/{digest}/raw", view(repositories.raw_manifest)),
        Route(
            "/r/{repository:path}/-/delete-tags", page(repositories.delete_tags), methods=["POST"]
        ),
        Route("/r/{repository:path}/-/delete-tags/progress", view(repositories.delete_progress)),
        Route(
            "/r/{repository:path}/-/delete", page(repositories.delete_repository), methods=["POST"]
        ),
        Route("/r/{repository:path}", view(repositories.repository)),
        Route("/favicon.ico", favicon),
        Route("/login", login_alias),
        Route("/{anything:path}", not_found(ui), methods=["GET", "HEAD"]),
    ]
