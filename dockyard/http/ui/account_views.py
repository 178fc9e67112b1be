"""Sign in and out, personal access tokens and one's own password (the admin's user
list is in admin_views)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from dockyard.admin import AdminError
from dockyard.admin import accounts as admin_accounts
from dockyard.admin import tokens as admin_tokens
from dockyard.auth.credentials import session_key, token_kind
from dockyard.auth.principal import Principal
from dockyard.http.ui.pages import Ui, back, checked_form
from dockyard.oci.errors import RegistryError
from dockyard.validation import InvalidInput, expiry_in_days, parse_id

NO_SCOPE = (
    "No token was created: choose at least one scope (read_registry to pull images, "
    "write_registry to push them, api for the REST API)."
)


class AccountViews:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    async def login_form(self, request: Request) -> Response:
        if await self.ui.viewer(request):
            return back("/")
        return self.ui.render(request, "login.html", next=request.query_params.get("next", "/"))

    async def login(self, request: Request) -> Response:
        if self.ui.service is None:
            return back("/")
        try:
            form = await checked_form(request)
        except PermissionError as error:
            return self.ui.render(request, "login.html", status=403, next="/", error=str(error))
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        target = str(form.get("next") or "/")
        target = target if target.startswith("/") and not target.startswith("//") else "/"
        client = request.client.host if request.client else None
        if token_kind(password) is not None:
            # A token is bound to the scopes it was issued with; a web session would have
            # all of its user's rights and outlive the token, so tokens never sign in here.
            return self.ui.render(
                request,
                "login.html",
                status=401,
                next=target,
                error="sign in with your account password: access tokens work only for the "
                "registry and the REST API",
                username=username,
            )
        try:
            principal = await self.ui.call(self.ui.service.login, username, password, client)
        except RegistryError as error:
            return self.ui.render(
                request,
                "login.html",
                status=401,
                next=target,
                error=error.message,
                username=username,
            )
        if principal.kind != "user" or principal.user_id is None:
            return self.ui.render(
                request,
                "login.html",
                status=401,
                next=target,
                error="sign in as a person (deploy and job tokens cannot)",
            )
        await self.ui.call(self.ui.service.end_session, request.session.get("sid"))
        request.session.clear()
        sid = await self.ui.call(self.ui.service.start_session, principal.user_id)
        request.session["sid"] = sid
        return back(target)

    async def logout(self, request: Request) -> Response:
        try:
            await checked_form(request)
        except PermissionError:
            return back("/")
        if self.ui.service is not None:
            await self.ui.call(self.ui.service.end_session, request.session.get("sid"))
        request.session.clear()
        return back("/-/login")

    async def tokens(self, request: Request, viewer: Principal) -> Response:
        if viewer.user_id is None:
            return back("/")
        rows = await self.ui.call(admin_tokens.list_tokens, self.ui.db, username=viewer.name)
        created = request.session.pop("new_token", None)
        return self.ui.render(
            request,
            "tokens.html",
            viewer=viewer,
            created=created,
            tokens=[t for t in rows if t.kind == "personal"],
        )

    async def create_token(self, request: Request, viewer: Principal) -> Response:
        form = await checked_form(request)
        scopes = [s for s in ("read_registry", "write_registry", "api") if form.get(s)]
        if not scopes:  # a token that may do nothing is a mistake, not a choice
            return back("/-/settings/tokens", NO_SCOPE, request)
        try:
            expires = expiry_in_days(form.get("expires_in_days"), datetime.now(UTC))
            issued = await self.ui.call(
                admin_tokens.create_personal,
                self.ui.db,
                viewer.name,
                str(form.get("name") or "web"),
                scopes,
                expires,
                viewer.name,
            )
        except (AdminError, InvalidInput) as error:
            return back("/-/settings/tokens", str(error), request)
        request.session["new_token"] = issued.secret
        return back("/-/settings/tokens")

    async def revoke_token(self, request: Request, viewer: Principal) -> Response:
        form = await checked_form(request)
        try:
            token_id = parse_id(form.get("token_id"), "token_id")
        except InvalidInput as error:
            return back("/-/settings/tokens", str(error), request)
        mine = await self.ui.call(admin_tokens.list_tokens, self.ui.db, username=viewer.name)
        if token_id in {t.id for t in mine}:
            await self.ui.call(admin_tokens.revoke, self.ui.db, token_id, viewer.name)
        return back("/-/settings/tokens", "token revoked", request)

    async def password_form(self, request: Request, viewer: Principal) -> Response:
        if viewer.user_id is None:
            return back("/")
        return self.ui.render(
            request, "password.html", viewer=viewer, min_length=self.ui.settings.password_min_length
        )

    async def change_password(self, request: Request, viewer: Principal) -> Response:
        if viewer.user_id is None:
            return back("/")
        form = await checked_form(request)
        new = str(form.get("new_password") or "")
        if new != str(form.get("confirm_password") or ""):
            return back("/-/settings/password", "the two new passwords differ", request)
        try:
            await self.ui.call(
                admin_accounts.change_password,
                self.ui.db,
                viewer.name,
                str(form.get("current_password") or ""),
                new,
                keep_session=session_key(request.session.get("sid")),
                min_length=self.ui.settings.password_min_length,
                guard=self.ui.service,
                client=request.client.host if request.client else None,
            )
        except AdminError as error:
            return back("/-/settings/password", str(error), request)
        done = "password changed; your other sessions were signed out"
        return back("/-/settings/password", done, request)
