"""Helpers for cleanup policy tests: age tags, build the service with a guard, run it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from starlette.testclient import TestClient

from dockyard.admin.accounts import find_project
from dockyard.admin.cleanup_service import Cleanups, allow_all
from dockyard.admin.registry import RegistryAdmin
from dockyard.db.models import AuditEvent, Repository, Tag
from dockyard.db.queries.cleanup import RunRow
from dockyard.storage import open_store
from dockyard.workers.cleanup_job import run_now
from tests.support.auth_registry import AuthRegistry

OCI = "application/vnd.oci.image.manifest.v1+json"


def push_tag(client: TestClient, repository: str, tag: str) -> str:
    """Push a small image (its own random layer) as TAG to a registry with auth off."""
    descriptors = []
    for data, media_type in (
        (b"{}", "application/vnd.oci.image.config.v1+json"),
        (os.urandom(32), "application/vnd.oci.image.layer.v1.tar+gzip"),
    ):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        resp = client.post(f"/v2/{repository}/blobs/uploads/?digest={digest}", content=data)
        assert resp.status_code == 201, resp.text
        descriptors.append({"mediaType": media_type, "digest": digest, "size": len(data)})
    manifest = {"schemaVersion": 2, "mediaType": OCI, "config": descriptors[0]}
    manifest["layers"] = descriptors[1:]
    resp = client.put(
        f"/v2/{repository}/manifests/{tag}",
        content=json.dumps(manifest),
        headers={"Content-Type": OCI},
    )
    assert resp.status_code == 201, resp.text
    return resp.headers["docker-content-digest"]


def age_tags(registry: AuthRegistry, repository: str, ages: dict[str, timedelta]) -> None:
    """Pretend tags were pushed ``age`` ago (the rules look at push time)."""
    now = datetime.now(UTC)
    with registry.db.session(write=True) as conn:
        repo_id = conn.scalar(select(Repository.id).where(Repository.name == repository))
        for name, age in ages.items():
            conn.execute(
                update(Tag)
                .where(Tag.repository_id == repo_id, Tag.name == name)
                .values(updated_at=now - age)
            )


def cleanups(
    registry: AuthRegistry, may_delete: Callable[[str, str, str], str | None] = allow_all
) -> Cleanups:
    store = open_store(registry.settings)
    return Cleanups(registry.db, RegistryAdmin(registry.db, store), may_delete=may_delete)


def run(registry: AuthRegistry, project: str, service: Cleanups | None = None) -> RunRow:
    """Run the project's policy now, as `dockyard cleanup run` does."""
    record = find_project(registry.db, project)
    return run_now(registry.db, service or cleanups(registry), record, "tester")


def audit_details(registry: AuthRegistry, action: str, target: str) -> list[str]:
    with registry.db.session() as conn:
        stmt = (
            select(AuditEvent.detail)
            .where(AuditEvent.action == action, AuditEvent.target == target)
            .order_by(AuditEvent.id)
        )
        return list(conn.scalars(stmt))
