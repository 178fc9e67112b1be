"""A repository's tags (filter, sort, pages, bulk delete) and one tag's details."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.admin import AdminError, NotFound, tag_deletes
from dockyard.admin import accounts as admin_accounts
from dockyard.admin.vulnerabilities import Vulnerabilities
from dockyard.auth.principal import Principal
from dockyard.db.queries.jobs import JobRow
from dockyard.http.cursors import parse_tag_cursor, tag_cursor
from dockyard.http.event_origin import origin
from dockyard.http.ui.pages import NotAllowed, Ui, back, checked_form, trail
from dockyard.http.ui.project_views import all_abilities
from dockyard.validation import InvalidInput, parse_int

SORTS = {
    "name": "Name A–Z",
    "-name": "Name Z–A",
    "-pushed_at": "Newest first",
    "pushed_at": "Oldest first",
}
PAGE_SIZES = (10, 20, 50, 100)
MAX_PAGE = 100000


async def open_repository(ui: Ui, viewer: Principal, name: str):  # noqa: ANN201
    """(repository row, abilities, owning project) if the viewer may read it;
    NotAllowed otherwise."""
    try:
        row = await ui.call(ui.registry.repository_by_name, name)
    except NotFound:
        raise NotAllowed(name) from None
    project = await ui.call(ui.registry.owning_project, name)
    if ui.service is None:
        return row, all_abilities(ui), project
    abilities = (
        await ui.call(ui.service.project_abilities, viewer, project) if project else frozenset()
    )
    if "read" not in abilities:
        raise NotAllowed(name)
    return row, abilities, project


class RepositoryViews:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    async def repository(self, request: Request, viewer: Principal) -> Response:
        name = request.path_params["repository"]
        row, abilities, project = await open_repository(self.ui, viewer, name)
        params = request.query_params
        sort = params.get("sort", "-pushed_at") if params.get("sort") in SORTS else "-pushed_at"
        per_page = (
            int(params.get("per_page", "20"))
            if params.get("per_page", "20") in {str(n) for n in PAGE_SIZES}
            else 20
        )
        # ?page=N (links people keep) shows the first N pages; Load more asks ?after=CURSOR
        # for the next page alone, which deletes in the list since cannot shift.
        pages = parse_int(params.get("page", "1"), 1, MAX_PAGE, "page")
        name_filter = params.get("name", "")[:128]
        after = None
        if params.get("after"):
            try:
                after = parse_tag_cursor(sort, params["after"][:512])
            except ValueError as error:
                raise InvalidInput(f"after: {error}") from None
        shown = await self.ui.call(
            self.ui.registry.tags,
            row.id,
            name_filter=name_filter,
            sort=sort.lstrip("-"),
            descending=sort.startswith("-"),
            after=after,
            limit=per_page * (1 if after else pages),
        )
        full = len(shown.rows) == per_page * (1 if after else pages)
        last = shown.rows[-1] if full and shown.rows else None  # there may be more after it
        badges = await self.ui.call(self.ui.registry.badges, row.id, [t.digest for t in shown.rows])
        scans = await self.ui.call(
            Vulnerabilities(self.ui.db).states, row.id, {t.digest: t.media_type for t in shown.rows}
        )
        locks = await self.ui.call(
            self.ui.protection.protections, name, [t.name for t in shown.rows]
        )
        deleting = await self.ui.call(tag_deletes.running, self.ui.db, row.id)
        return self.ui.render(
            request,
            "repository.html",
            viewer=viewer,
            crumbs=trail(project, name),
            repository=row,
            abilities=abilities,
            tags=shown.rows,
            total=shown.total,
            badges=badges,
            scans=scans,
            locks=locks,
            sort=sort,
            sorts=SORTS,
            per_page=per_page,
            page_sizes=PAGE_SIZES,
            more=tag_cursor(sort, last.name, last.pushed_at) if last else None,
            name=name_filter,
            platforms=lambda tag: json.loads(tag.platforms) if tag.platforms else [],
            deleting=_progress(deleting) if deleting else None,
        )

    async def tag(self, request: Request, viewer: Principal) -> Response:
        name, tag = request.path_params["repository"], request.path_params["tag"]
        row, abilities, project = await open_repository(self.ui, viewer, name)
        try:
            detail = await self.ui.call(self.ui.registry.tag_detail, row.id, tag)
        except NotFound:
            raise NotAllowed(tag) from None
        raw = json.dumps(detail.manifest, indent=2)
        scans = await self.ui.call(
            Vulnerabilities(self.ui.db).states, row.id, {detail.tag.digest: detail.tag.media_type}
        )
        locks = await self.ui.call(self.ui.protection.protections, name, [tag])
        cleanup = None
        if project is not None:
            record = await self.ui.call(admin_accounts.find_project, self.ui.db, project)
            cleanup = await self.ui.call(self.ui.cleanup.verdict, record, row.id, name, tag)
        return self.ui.render(
            request,
            "tag.html",
            viewer=viewer,
            crumbs=trail(project, name, tag),
            repository=row,
            abilities=abilities,
            detail=detail,
            raw=raw,
            scan=scans[detail.tag.digest],
            lock=locks.get(tag),
            cleanup=cleanup,
            project=project,
        )

    async def manifest(self, request: Request, viewer: Principal) -> Response:
        """A platform image of an index, by digest: the tag page's facts, no tag."""
        name, digest = request.path_params["repository"], request.path_params["digest"]
        row, abilities, project = await open_repository(self.ui, viewer, name)
        try:
            detail = await self.ui.call(self.ui.registry.manifest_detail, row.id, digest)
        except NotFound:
            raise NotAllowed(digest) from None
        return self.ui.render(
            request,
            "tag.html",
            viewer=viewer,
            crumbs=trail(project, name, digest[:19] + "…"),
            repository=row,
            abilities=abilities,
            detail=detail,
            raw=json.dumps(detail.manifest, indent=2),
            scan=None,
            lock=None,
        )

    async def raw_manifest(self, request: Request, viewer: Principal) -> Response:
        """The manifest's bytes exactly as pushed, as a download."""
        name, digest = request.path_params["repository"], request.path_params["digest"]
        row, _abilities, _project = await open_repository(self.ui, viewer, name)
        try:
            media_type, payload = await self.ui.call(
                self.ui.registry.manifest_bytes, row.id, digest
            )
        except NotFound:
            raise NotAllowed(digest) from None
        filename = f"{digest.partition(':')[2][:12]}.json"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(payload, media_type=media_type, headers=headers)

    async def delete_tags(self, request: Request, viewer: Principal) -> Response:
        """Delete the selected tags (or all matching the filter) after one confirmation."""
        name = request.path_params["repository"]
        row, abilities, project = await open_repository(self.ui, viewer, name)
        if "delete" not in abilities:
            raise NotAllowed(name)
        form = await checked_form(request)
        view = _view(form)
        listing = f"/r/{name}" + (f"?{urlencode(view)}" if view else "")  # as it was shown
        chosen = [t for t in form.get("tags", []) if t]
        matching = bool(form.get("all_matching"))
        if matching:  # the filter travels, not the list: it may be 100,000 names long
            chosen = await self._matching(row.id, view.get("name", ""), form.get("shown_at"))
        if not chosen:
            return back(listing, "nothing selected", request)
        refusal = await self.ui.call(self.ui.protection.delete_refusal, viewer, name, chosen)
        if refusal is not None:
            return back(listing, f"nothing deleted: {refusal}", request)
        if not form.get("confirmed"):
            return self.ui.render(
                request,
                "confirm_delete.html",
                viewer=viewer,
                repository=row,
                tags=chosen,
                view=view,
                listing=listing,
                all_matching=matching,
                shown_at=datetime.now(UTC).isoformat(),
            )
        who = origin(request, self.ui.settings, viewer)
        if matching and len(chosen) > tag_deletes.IN_REQUEST:  # too many to wait for
            cutoff = _moment(form.get("shown_at")) or datetime.now(UTC)
            name_filter = view.get("name", "")
            job = await self.ui.call(
                tag_deletes.queue, self.ui.db, row.id, name_filter, cutoff, who
            )
            if job is None:
                return back(listing, "another delete is still running here: wait for it", request)
            return back(listing, f"deleting {len(chosen):,} tags: progress below", request)
        count = await self.ui.call(self.ui.registry.delete_tags, row.id, chosen, None, who)
        return back(listing, f"deleted {count} tag(s)", request)

    async def delete_progress(self, request: Request, viewer: Principal) -> Response:
        """How far the repository's background delete is, for the page's progress bar."""
        row, _, _ = await open_repository(self.ui, viewer, request.path_params["repository"])
        return JSONResponse(_progress(await self.ui.call(tag_deletes.running, self.ui.db, row.id)))

    async def _matching(self, repository_id: int, name_filter: str, shown_at: object) -> list[str]:
        """Every tag the filter matches; once confirmed, only those pushed before the
        confirmation page was shown (a tag pushed since was not in the count)."""
        found = await self.ui.call(
            self.ui.registry.matching_tags, repository_id, name_filter, _moment(shown_at)
        )
        return sorted(found)

    async def delete_repository(self, request: Request, viewer: Principal) -> Response:
        name = request.path_params["repository"]
        row, abilities, project = await open_repository(self.ui, viewer, name)
        if "delete" not in abilities:
            raise NotAllowed(name)
        form = await checked_form(request)
        if form.get("confirm_name") != name:
            return back(f"/r/{name}", "type the repository path to confirm", request)
        refusal = await self.ui.call(
            self.ui.protection.repository_delete_refusal, viewer, name, row.id
        )
        if refusal is not None:
            return back(f"/r/{name}", refusal, request)
        try:
            who = origin(request, self.ui.settings, viewer)
            await self.ui.call(self.ui.registry.schedule_delete, row.id, who)
        except AdminError as error:
            return back(f"/r/{name}", str(error), request)
        project = await self.ui.call(self.ui.registry.owning_project, name)
        return back(f"/p/{project}" if project else "/", f"{name} will be deleted", request)


def _progress(job: JobRow | None) -> dict[str, object]:
    if job is None:  # finished jobs drop their key: nothing is running any more
        return {"state": "finished"}
    return {"state": job.state, "done": job.progress_done or 0, "total": job.progress_total}


def _moment(value: object) -> datetime | None:
    """The confirmation page's time, back from its hidden field (None when absent or bad:
    then every matching tag goes, as on the first, unconfirmed request)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _view(form: dict) -> dict[str, str]:
    """The listing's filter, sort and page size from a form, as the page itself would
    accept them (anything else is dropped, so the way back stays a short, valid URL)."""
    view = {"name": str(form.get("name") or "")[:128]}
    if form.get("sort") in SORTS:
        view["sort"] = str(form["sort"])
    if form.get("per_page") in {str(n) for n in PAGE_SIZES}:
        view["per_page"] = str(form["per_page"])
    return {k: v for k, v in view.items() if v}
