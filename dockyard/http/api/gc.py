"""/registry/gc: garbage collection's queue and its last passes (administrators)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Request

from dockyard.admin.gc_status import gc_status
from dockyard.auth.principal import Principal
from dockyard.http.api import guards
from dockyard.http.api.deps import api, caller

router = APIRouter(tags=["garbage collection"])


@router.get("/registry/gc")
async def garbage_collection(
    request: Request, principal: Principal = Depends(caller)
) -> dict[str, Any]:
    """``queued`` and ``due`` reviews per kind (``storage``: blobs whose bytes are being
    deleted), the settings that drive collection, and the ten latest passes that removed
    something (newest first: manifests, blob_links, blobs, their bytes, orphans)."""
    guards.admin_only(principal)
    ctx = api(request)
    return asdict(await ctx.call(gc_status, ctx.db, ctx.settings))
