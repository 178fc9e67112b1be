"""The administrator's storage page: garbage collection's queue and its last passes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dockyard.admin.gc_status import gc_status
from dockyard.auth.principal import Principal
from dockyard.http.ui.pages import Ui


class StorageViews:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    async def storage(self, request: Request, viewer: Principal) -> Response:
        if not viewer.is_admin:
            return self.ui.render(request, "missing.html", status=404, viewer=viewer)
        status = await self.ui.call(gc_status, self.ui.db, self.ui.settings)
        return self.ui.render(request, "storage.html", viewer=viewer, gc=status)
