"""Webhook test helpers: a registry that may call 127.0.0.1, hooks, and a worker that
sends deliveries with no wait between retries."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from dockyard.db.queries import hooks as hook_rows
from dockyard.workers.jobs import JobKind, JobWorker
from dockyard.workers.kinds import webhook_kind
from tests.api.helpers import auth, push_image
from tests.support.auth_registry import AuthRegistry


def hooks_url(project: str, tail: str = "", kind: str = "projects") -> str:
    return f"/api/v1/{kind}/{project}/hooks{tail}"


def add_hook(
    registry: AuthRegistry, project: str, url: str, kind: str = "projects", **fields: object
) -> dict:
    body = {"url": url, "secret": "s3cret-for-tests", "events": ["push"], **fields}
    resp = registry.client.post(
        hooks_url(project, kind=kind), json=body, headers=auth(registry.admin_pat)
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def deliveries(registry: AuthRegistry, project: str, hook_id: int, kind: str = "projects") -> list:
    resp = registry.client.get(
        hooks_url(project, f"/{hook_id}/deliveries", kind), headers=auth(registry.admin_pat)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def worker(registry: AuthRegistry, delay: Callable[[int], float] = lambda _n: 0.0) -> JobWorker:
    """The job loop with the webhook kind only, retrying at once (``delay``)."""
    kind = webhook_kind(registry.settings, registry.db)
    quick = JobKind(kind.name, kind.run, kind.give_up, delay)
    return JobWorker(registry.db, {kind.name: quick}, backoff_seconds=0)


def push(registry: AuthRegistry, project: str, name: str = "app", tag: str = "v1") -> str:
    repository = f"{project}/{name}"
    return push_image(registry, repository, tag, layers=[uuid.uuid4().bytes]).digest


def queued_count(registry: AuthRegistry, hook_id: int) -> int:
    with registry.db.session() as conn:
        return sum(hook_rows.counts(conn, hook_id).values())
