"""Garbage collection's progress where people look: REST for scripts, a page for admins."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dockyard.registry.gc import Collector
from dockyard.storage import open_store
from dockyard.workers.gc_process import GcProcess
from dockyard.workers.runner import collect
from tests.api.helpers import auth, push_image
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.ui.test_pages import signed_in


@pytest.fixture
def reg(backend: str, make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry(backend, gc_review_delay_seconds=0, gc_upload_grace_seconds=0)


def test_the_queue_and_the_last_passes_are_shown(reg: AuthRegistry) -> None:
    project = reg.new_project("private")
    old = push_image(reg, f"{project}/app", "v1", layers=[b"layer one"])
    push_image(reg, f"{project}/app", "v1", layers=[b"layer two"])  # old is untagged now

    before = reg.client.get("/api/v1/registry/gc", headers=auth(reg.admin_pat))
    assert before.status_code == 200, before.text
    status = before.json()
    assert status["queued"]["manifests"] >= 1 and status["due"]["manifests"] >= 1
    assert status["review_delay_seconds"] == 0 and status["untagged_manifests"] is True

    removed = Collector(reg.db, open_store(reg.settings)).run()
    assert removed.manifests == 1
    push_image(reg, f"{project}/app", "v1", layers=[b"layer three"])
    passes = GcProcess(reg.settings)  # the server's passes run in this child
    try:
        collect(reg.db, passes)
    finally:
        passes.close()
    after = reg.client.get("/api/v1/registry/gc", headers=auth(reg.admin_pat)).json()
    assert after["due"]["manifests"] == 0
    latest = after["passes"][0]
    assert latest["by"] == "gc" and latest["manifests"] == 1 and latest["blobs"] >= 1
    assert old.digest  # the first image is gone; the page shows the pass

    page = signed_in(reg, "admin", ADMIN_PASSWORD).get("/-/admin/storage")
    assert page.status_code == 200
    assert "Garbage collection" in page.text and 'id="gc-passes-table"' in page.text


def test_only_administrators_see_it(reg: AuthRegistry) -> None:
    someone = reg.new_user()
    resp = reg.client.get("/api/v1/registry/gc", headers=auth(someone.pat))
    assert resp.status_code == 403
    page = signed_in(reg, someone.name, someone.password).get("/-/admin/storage")
    assert page.status_code == 404
