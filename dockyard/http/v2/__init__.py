"""Routes of the distribution API (/v2)."""

from __future__ import annotations

from starlette.routing import Route

from dockyard.http.v2 import base, blobs, catalog, manifests, referrers, tags, uploads
from dockyard.http.v2.common import Context

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def routes(ctx: Context) -> list[Route]:
    name = "/v2/{name:path}"
    up = uploads.Endpoints(ctx)
    bl = blobs.Endpoints(ctx)
    mf = manifests.Endpoints(ctx)
    root = base.Endpoints(ctx)
    # The router tries routes in order and stops at the first full match; the paths'
    # fixed tails make the order irrelevant to the outcome, so the hottest go first
    # (a blob HEAD used to fail a dozen path patterns before its own).
    return [
        Route(f"{name}/blobs/{{digest}}", bl.get, methods=["GET", "HEAD"]),
        Route(f"{name}/manifests/{{reference}}", mf.get, methods=["GET", "HEAD"]),
        Route("/v2/", root.version, methods=["GET"]),
        Route("/v2/_catalog", catalog.Endpoints(ctx).list, methods=["GET"]),
        Route(f"{name}/tags/list", tags.Endpoints(ctx).list, methods=["GET"]),
        Route(f"{name}/referrers/{{digest}}", referrers.Endpoints(ctx).list, methods=["GET"]),
        Route(f"{name}/manifests/{{reference}}", mf.put, methods=["PUT"]),
        Route(f"{name}/manifests/{{reference}}", mf.delete, methods=["DELETE"]),
        Route(f"{name}/blobs/uploads/", up.start, methods=["POST"]),
        Route(f"{name}/blobs/uploads/{{upload_id}}", up.status, methods=["GET"]),
        Route(f"{name}/blobs/uploads/{{upload_id}}", up.append, methods=["PATCH"]),
        Route(f"{name}/blobs/uploads/{{upload_id}}", up.finish, methods=["PUT"]),
        Route(f"{name}/blobs/uploads/{{upload_id}}", up.cancel, methods=["DELETE"]),
        Route(f"{name}/blobs/{{digest}}", bl.delete, methods=["DELETE"]),
        Route("/v2/{rest:path}", root.unknown, methods=ANY_METHOD),
    ]
