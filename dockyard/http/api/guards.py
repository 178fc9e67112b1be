"""Permission checks for REST endpoints: hide what the caller may not see (404), refuse
what they may see but not do (403). Every answer comes from dockyard.auth.policy."""

from __future__ import annotations

from dockyard.admin import NotFound
from dockyard.admin import accounts as admin_accounts
from dockyard.auth.principal import Principal
from dockyard.db.records import ProjectRecord
from dockyard.http.api.deps import Api, ApiError, forbidden


def _not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what}")


async def project(ctx: Api, principal: Principal, path: str, ability: str) -> ProjectRecord:
    """The project at ``path`` if the caller may ``ability`` there (a job token sees only
    its own project; the policy hides the others)."""
    abilities = (
        frozenset(
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
        if ctx.service is None
        else await ctx.call(ctx.service.project_abilities, principal, path)
    )
    if "read" not in abilities:
        raise _not_found(f"project {path!r}")
    if ability == "delete" and not ctx.settings.delete_enabled:
        raise deletes_disabled()
    if ability not in abilities:
        raise forbidden(f"you may not {ability.replace('_', ' ')} in {path}")
    return await ctx.call(admin_accounts.find_project, ctx.db, path)


def deletes_disabled() -> ApiError:
    """405, as /v2 answers: the registry runs with ``delete_enabled: false``."""
    return ApiError(
        405,
        "deletes_disabled",
        "deletes are turned off on this registry (delete_enabled: false); an administrator "
        "can turn them on",
    )


async def group(ctx: Api, principal: Principal, path: str, ability: str) -> None:
    if ctx.service is None:
        return
    if principal.kind == "job":  # sees its own project only, and no group
        raise _not_found(f"group {path!r}")
    abilities = await ctx.call(ctx.service.group_abilities, principal, path)
    if "read" not in abilities:
        raise _not_found(f"group {path!r}")
    if ability not in abilities:
        raise forbidden(f"you may not {ability} group {path}")


async def repository(ctx: Api, principal: Principal, repository_id: int, ability: str):  # noqa: ANN201
    """The repository row if the caller may ``ability`` in the project it belongs to."""
    try:
        row = await ctx.call(ctx.registry.repository, repository_id)
    except NotFound:
        raise _not_found("repository") from None
    owner = await ctx.call(ctx.registry.owning_project, row.name)
    if owner is None:
        if ctx.service is not None and not principal.is_admin:
            raise _not_found("repository")
        return row
    try:
        await project(ctx, principal, owner, ability)
    except ApiError as error:
        if error.status == 404:
            raise _not_found("repository") from None
        raise
    return row


def admin_only(principal: Principal) -> None:
    if not principal.is_admin:
        raise forbidden("administrators only")
