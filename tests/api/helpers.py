"""Pushing images through /v2 with the admin's token, and calling /api/v1 as someone."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import httpx

from tests.support.auth_registry import AuthRegistry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def blob(registry: AuthRegistry, repository: str, token: str, data: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    resp = registry.client.post(
        f"/v2/{repository}/blobs/uploads/?digest={digest}",
        content=data,
        headers=registry.bearer(token),
    )
    assert resp.status_code == 201, resp.text
    return {"digest": digest, "size": len(data)}


@dataclass
class Pushed:
    digest: str
    body: bytes
    config: dict
    layers: list[dict]


def push_image(
    registry: AuthRegistry,
    repository: str,
    tag: str,
    *,
    layers: list[bytes],
    config: dict | None = None,
    subject: dict | None = None,
    artifact_type: str | None = None,
) -> Pushed:
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull,push")
    config = config or {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/bin"],
            "Entrypoint": ["/app"],
            "Labels": {"org.opencontainers.image.title": tag},
        },
        "history": [{"created_by": "COPY app /app"}],
    }
    config_blob = blob(registry, repository, token, json.dumps(config).encode())
    layer_descs = [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            **blob(registry, repository, token, data),
        }
        for data in layers
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_blob},
        "layers": layer_descs,
    }
    if subject:
        manifest["subject"] = subject
    if artifact_type:
        manifest["artifactType"] = artifact_type
    body = json.dumps(manifest).encode()
    resp = registry.client.put(
        f"/v2/{repository}/manifests/{tag}",
        content=body,
        headers={**registry.bearer(token), "Content-Type": OCI_MANIFEST},
    )
    assert resp.status_code == 201, resp.text
    return Pushed(resp.headers["docker-content-digest"], body, config, layer_descs)


def push_index(
    registry: AuthRegistry,
    repository: str,
    tag: str,
    children: list[Pushed],
    platforms: list[tuple[str, str]],
) -> str:
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull,push")
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": c.digest,
                "size": len(c.body),
                "platform": {"os": os_, "architecture": arch},
            }
            for c, (os_, arch) in zip(children, platforms, strict=True)
        ],
    }
    resp = registry.client.put(
        f"/v2/{repository}/manifests/{tag}",
        content=json.dumps(index),
        headers={**registry.bearer(token), "Content-Type": OCI_INDEX},
    )
    assert resp.status_code == 201, resp.text
    return resp.headers["docker-content-digest"]


def repository_id(registry: AuthRegistry, project: str, repository: str, secret: str) -> int:
    resp = registry.client.get(
        f"/api/v1/projects/{project}/registry/repositories", headers=auth(secret)
    )
    assert resp.status_code == 200, resp.text
    return next(r["id"] for r in resp.json() if r["name"] == repository)


def tag_names(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [t["name"] for t in resp.json()]
