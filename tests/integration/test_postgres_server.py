"""A live server on PostgreSQL (instead of the default SQLite), driven by skopeo."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.integration.clients import ClientSandbox, ImageBuilder
from tests.integration.conftest import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def pg_server(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: Callable[[], str]
) -> Iterator[LiveServer]:
    server = LiveServer("dockyard", tmp_path_factory.mktemp("pg-server"), postgres_url())
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log()


def test_push_inspect_list_and_delete_on_postgresql(
    pg_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sandbox = ClientSandbox(pg_server.host, tmp_path_factory.mktemp("pg-clients"))
    image = ImageBuilder(sandbox, tmp_path_factory.mktemp("pg-images")).single("pgtiny")
    for tag in ("v1", "v2"):
        sandbox.skopeo_copy(image.ref, sandbox.docker_ref("pg/app", tag))
    digest = sandbox.inspect("pg/app", "v1")["Digest"]
    assert sandbox.inspect("pg/app", "v2")["Digest"] == digest
    listed = sandbox.skopeo("list-tags", sandbox.docker_ref("pg/app")).stdout
    assert '"v1"' in listed and '"v2"' in listed
    sandbox.skopeo("delete", sandbox.docker_ref("pg/app", digest))
    gone = sandbox.skopeo("inspect", sandbox.docker_ref("pg/app", "v1"), check=False)
    assert gone.returncode != 0
