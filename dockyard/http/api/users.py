"""/user (the caller and their personal tokens) and /users (administrators)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from dockyard.admin import accounts
from dockyard.admin import tokens as admin_tokens
from dockyard.auth.credentials import session_key
from dockyard.auth.principal import Principal
from dockyard.http.api import convert, schemas
from dockyard.http.api.deps import api, caller, forbidden
from dockyard.http.api.guards import admin_only

router = APIRouter(tags=["users"])


def _person(principal: Principal) -> str:
    if principal.kind != "user" or principal.user_id is None:
        raise forbidden("only people have personal settings")
    return principal.name


def _user(record) -> schemas.UserOut:  # noqa: ANN001
    return schemas.UserOut(
        username=record.username,
        email=record.email,
        is_admin=record.is_admin,
        is_blocked=record.is_blocked,
    )


@router.get("/user", response_model=schemas.UserOut)
async def me(request: Request, principal: Principal = Depends(caller)) -> schemas.UserOut:
    return _user(await api(request).call(accounts.find_user, api(request).db, _person(principal)))


@router.get("/user/tokens", response_model=list[schemas.TokenOut])
async def my_tokens(request: Request, principal: Principal = Depends(caller)):  # noqa: ANN201
    ctx = api(request)
    rows = await ctx.call(admin_tokens.list_tokens, ctx.db, username=_person(principal))
    return [convert.token(r, principal.name) for r in rows if r.kind == "personal"]


@router.post("/user/tokens", response_model=schemas.TokenCreated, status_code=201)
async def create_my_token(
    body: schemas.PersonalTokenCreate, request: Request, principal: Principal = Depends(caller)
) -> schemas.TokenCreated:
    ctx = api(request)
    issued = await ctx.call(
        admin_tokens.create_personal,
        ctx.db,
        _person(principal),
        body.name,
        list(body.scopes),
        body.expires_at,
        principal.actor,
    )
    return schemas.TokenCreated(
        **convert.token(issued.record, principal.name).model_dump(), token=issued.secret
    )


@router.delete("/user/tokens/{token_id}", status_code=204)
async def revoke_my_token(
    token_id: schemas.Id, request: Request, principal: Principal = Depends(caller)
) -> Response:
    ctx = api(request)
    mine = await ctx.call(admin_tokens.list_tokens, ctx.db, username=_person(principal))
    if token_id not in {t.id for t in mine if t.kind == "personal"}:
        raise forbidden("not one of your tokens")
    await ctx.call(admin_tokens.revoke, ctx.db, token_id, principal.actor)
    return Response(status_code=204)


@router.get("/users", response_model=list[schemas.UserOut])
async def list_users(request: Request, principal: Principal = Depends(caller)):  # noqa: ANN201
    admin_only(principal)
    return [_user(u) for u in await api(request).call(accounts.list_users, api(request).db)]


@router.post("/users", response_model=schemas.UserOut, status_code=201)
async def create_user(
    body: schemas.UserCreate, request: Request, principal: Principal = Depends(caller)
) -> schemas.UserOut:
    admin_only(principal)
    ctx = api(request)
    record = await ctx.call(
        accounts.create_user,
        ctx.db,
        body.username,
        body.email,
        body.password,
        body.is_admin,
        ctx.settings.password_min_length,
    )
    return _user(record)


@router.put("/user/password", status_code=204)
async def change_my_password(
    body: schemas.PasswordChange, request: Request, principal: Principal = Depends(caller)
) -> Response:
    """Change your own password. Your other web sessions end; this one (if the request
    came from the UI) stays signed in; cached registry logins with the old one stop."""
    ctx = api(request)
    session = request.scope.get("session") or {}
    await ctx.call(
        accounts.change_password,
        ctx.db,
        _person(principal),
        body.current_password,
        body.new_password,
        keep_session=session_key(session.get("sid")),
        min_length=ctx.settings.password_min_length,
        guard=ctx.service,
        client=request.client.host if request.client else None,
    )
    return Response(status_code=204)


@router.put("/users/{username}/password", status_code=204)
async def reset_password(
    username: str,
    body: schemas.PasswordReset,
    request: Request,
    principal: Principal = Depends(caller),
) -> Response:
    """Set someone's password (administrators); every session of theirs ends."""
    admin_only(principal)
    ctx = api(request)
    await ctx.call(
        accounts.reset_password,
        ctx.db,
        username,
        body.new_password,
        actor=principal.actor,
        min_length=ctx.settings.password_min_length,
    )
    return Response(status_code=204)


@router.patch("/users/{username}", response_model=schemas.UserOut)
async def update_user(
    username: str,
    body: schemas.UserUpdate,
    request: Request,
    principal: Principal = Depends(caller),
) -> schemas.UserOut:
    admin_only(principal)
    ctx = api(request)
    record = await ctx.call(
        accounts.set_user_flags,
        ctx.db,
        username,
        blocked=body.is_blocked,
        admin=body.is_admin,
        actor=principal.name if principal.kind == "user" else None,
    )
    return _user(record)
