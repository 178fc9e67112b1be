"""The administrator's pages: the user list (create, block, admin rights, password
resets) and the read-only view of the effective settings. Everyone else gets the 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from dockyard.admin import AdminError
from dockyard.admin import accounts as admin_accounts
from dockyard.auth.principal import Principal
from dockyard.db.records import UserRecord
from dockyard.http.ui.pages import NotAllowed, Ui, back, checked_form
from dockyard.http.ui.settings_table import settings_table

USERS = "/-/admin/users"
MAX_QUERY = 200  # a filter longer than any username or email matches nothing anyway
Change = Callable[[Principal, str, dict], Awaitable[str]]


def matching(users: list[UserRecord], query: str) -> list[UserRecord]:
    """Users whose name or email holds ``query`` (any case), by name."""
    needle = query.casefold()
    found = [u for u in users if needle in u.username.casefold() or needle in u.email.casefold()]
    return sorted(found, key=lambda u: u.username)


def users_url(query: str) -> str:
    """The user list with the filter the admin was using, so an action keeps it."""
    return f"{USERS}?{urlencode({'q': query})}" if query else USERS


class AdminViews:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui
        self.changes: dict[str, Change] = {
            "create": self._create,
            "block": self._flag("blocked", True, "{} is blocked and signed out everywhere"),
            "unblock": self._flag("blocked", False, "{} is unblocked and can sign in again"),
            "make_admin": self._flag("admin", True, "{} is an administrator now"),
            "drop_admin": self._flag("admin", False, "{} is no longer an administrator"),
            "set_password": self._reset_password,
        }

    async def users(self, request: Request, viewer: Principal) -> Response:
        _admin_only(viewer)
        query = request.query_params.get("q", "").strip()[:MAX_QUERY]
        users = await self.ui.call(admin_accounts.list_users, self.ui.db)
        active_admins = [u.username for u in users if u.is_admin and not u.is_blocked]
        return self.ui.render(
            request,
            "users.html",
            viewer=viewer,
            users=matching(users, query),
            total=len(users),
            query=query,
            last_admin=active_admins[0] if len(active_admins) == 1 else None,
            min_length=self.ui.settings.password_min_length,
        )

    async def change_user(self, request: Request, viewer: Principal) -> Response:
        """One action of the user list; the flash message says what happened to whom."""
        _admin_only(viewer)
        form = await checked_form(request)
        query = str(form.get("q") or "").strip()[:MAX_QUERY]
        action = str(form.get("action") or "")
        change = self.changes.get(action)
        username = str(form.get("username") or "").strip()
        if change is None:
            message = f"unknown action {action[:40]!r}: reload the page and try again"
        elif not username:
            message = "the username is empty: enter the user's name"
        else:
            try:
                message = await change(viewer, username, form)
            except AdminError as error:
                message = str(error)
        return back(users_url(query), message, request)

    async def settings(self, request: Request, viewer: Principal) -> Response:
        _admin_only(viewer)
        groups = settings_table(self.ui.settings)
        return self.ui.render(request, "admin_settings.html", viewer=viewer, groups=groups)

    async def _create(self, viewer: Principal, username: str, form: dict) -> str:
        email = str(form.get("email") or "").strip()
        if not email:
            raise AdminError("the email is empty: enter the user's email address")
        is_admin = bool(form.get("is_admin"))
        await self.ui.call(
            admin_accounts.create_user,
            self.ui.db,
            username,
            email,
            str(form.get("password") or ""),
            is_admin,
            self.ui.settings.password_min_length,
        )
        return f"{username} was created" + (" as an administrator" if is_admin else "")

    def _flag(self, flag: str, value: bool, done: str) -> Change:
        async def change(viewer: Principal, username: str, _form: dict) -> str:
            await self.ui.call(
                admin_accounts.set_user_flags,
                self.ui.db,
                username,
                actor=viewer.name,
                **{flag: value},
            )
            return done.format(username)

        return change

    async def _reset_password(self, viewer: Principal, username: str, form: dict) -> str:
        if username == viewer.name:
            raise AdminError("change your own password on the Password page")
        await self.ui.call(
            admin_accounts.reset_password,
            self.ui.db,
            username,
            str(form.get("password") or ""),
            actor=viewer.actor,
            min_length=self.ui.settings.password_min_length,
        )
        return f"{username}'s password was reset and their sessions were signed out"


def _admin_only(viewer: Principal) -> None:
    if not viewer.is_admin:
        raise NotAllowed  # the UI's 404: nothing here for others, not even that it exists
