"""The live server's own background workers carry out what the API schedules."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest

from tests.integration.clients import ClientSandbox, ImageBuilder
from tests.integration.conftest import ADMIN_PASSWORD, LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_a_scheduled_repository_deletion_happens_by_itself(
    auth_server: LiveServer,
    auth_sandbox: ClientSandbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    group = f"bg-{secrets.token_hex(3)}"
    auth_server.cli("group", "create", group)
    auth_server.cli("project", "create", f"{group}/app")
    repository = f"{group}/app/old"
    image = ImageBuilder(auth_sandbox, tmp_path_factory.mktemp("bg")).single("bgtiny")
    auth_sandbox.skopeo_copy(
        image.ref,
        auth_sandbox.docker_ref(repository, "v1"),
        "--dest-creds",
        f"admin:{ADMIN_PASSWORD}",
    )
    out = auth_server.cli("token", "create", "personal", "--user", "admin", "--scope", "api")
    headers = {"Authorization": "Bearer " + out.split(": ", 1)[1].split()[0]}
    api = f"{auth_server.url}/api/v1"
    listed = httpx.get(f"{api}/projects/{group}/app/registry/repositories", headers=headers)
    repo_id = next(r["id"] for r in listed.json() if r["name"] == repository)
    scheduled = httpx.delete(f"{api}/registry/repositories/{repo_id}", headers=headers)
    assert scheduled.status_code == 202 and scheduled.json()["status"] == "delete_scheduled"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if httpx.get(f"{api}/registry/repositories/{repo_id}", headers=headers).status_code == 404:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the repository was not deleted within 30 s")
    pulled = auth_sandbox.skopeo(
        "inspect",
        "--creds",
        f"admin:{ADMIN_PASSWORD}",
        auth_sandbox.docker_ref(repository, "v1"),
        check=False,
    )
    assert pulled.returncode != 0
