"""GET /v2/<name>/referrers/<digest>: an OCI index of the manifests whose subject it is."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse

from dockyard.http.access import PULL
from dockyard.http.v2.common import Context, repository
from dockyard.oci import media_types as mt
from dockyard.oci.digest import parse_digest


class Endpoints:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list(self, request: Request) -> JSONResponse:
        name = repository(request)
        await self.ctx.access.authorize(request, name, PULL)
        subject = parse_digest(request.path_params["digest"])
        wanted = request.query_params.get("artifactType") or None
        found = await self.ctx.read(self.ctx.registry.manifests.referrers, name, subject, wanted)
        descriptors = []
        for referrer in found:
            descriptor = {
                "mediaType": referrer.media_type,
                "digest": referrer.digest,
                "size": referrer.size,
            }
            if referrer.artifact_type:
                descriptor["artifactType"] = referrer.artifact_type
            if referrer.annotations:
                descriptor["annotations"] = json.loads(referrer.annotations)
            descriptors.append(descriptor)
        index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": descriptors}
        headers = {"OCI-Filters-Applied": "artifactType"} if wanted else {}
        return JSONResponse(index, headers=headers, media_type=mt.OCI_INDEX)
