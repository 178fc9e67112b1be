"""What skopeo and podman print when a push would pass a storage limit: the registry's
403 DENIED message, 'quota exceeded: … used of … (project P)', whether the refusal came
at the start of the upload (the project is full) or on the bytes (a layer that does not
fit). Checked against this machine's clients (podman 4.3, skopeo 1.9)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.integration.clients import ClientSandbox, ImageBuilder, LayoutImage
from tests.integration.conftest import ADMIN_PASSWORD, LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def builder(auth_sandbox: ClientSandbox, tmp_path_factory) -> ImageBuilder:
    return ImageBuilder(auth_sandbox, tmp_path_factory.mktemp("quota-images"))


@pytest.fixture(scope="module")
def authfile(auth_sandbox: ClientSandbox, tmp_path_factory) -> str:
    path = Path(tmp_path_factory.mktemp("quota-auth")) / "auth.json"
    path.write_text('{"auths": {}}\n')
    auth_sandbox.podman(
        "login", "--tls-verify=false", "--authfile", str(path),
        "-u", "admin", "-p", ADMIN_PASSWORD, auth_sandbox.registry,
    )  # fmt: skip
    return str(path)


def project_with_limit(server: LiveServer, limit: str) -> str:
    group = f"quota-{secrets.token_hex(3)}"
    server.cli("group", "create", group)
    server.cli("project", "create", f"{group}/app")
    server.cli("project", "set-limit", f"{group}/app", limit)
    return f"{group}/app"


def refused(result) -> str:  # noqa: ANN001 - a clients.Result
    assert result.returncode != 0, result.describe()
    text = result.stdout + result.stderr
    assert "unexpected end of JSON input" not in text
    return text


def test_skopeo_prints_the_quota_message_of_a_full_project(
    auth_server: LiveServer, auth_sandbox: ClientSandbox, builder: ImageBuilder, authfile: str
) -> None:
    project = project_with_limit(auth_server, "0")
    layout: LayoutImage = builder.single("full")
    copy = [
        "skopeo", "copy", "--dest-tls-verify=false", "--dest-authfile", authfile,
        layout.ref, auth_sandbox.docker_ref(f"{project}/img", "v1"),
    ]  # fmt: skip
    text = refused(auth_sandbox.run(copy, check=False))
    assert f"denied: quota exceeded: 0 B used of 0 B (project {project})" in text, text


def test_podman_prints_the_quota_message_of_a_layer_that_does_not_fit(
    auth_server: LiveServer, auth_sandbox: ClientSandbox, builder: ImageBuilder, authfile: str
) -> None:
    project = project_with_limit(auth_server, "100B")
    local = builder.local("nofit")
    target = auth_sandbox.ref(f"{project}/img", "v1")
    push = ["podman", "push", "--tls-verify=false", "--authfile", authfile, local, target]
    text = refused(auth_sandbox.run(push, check=False))
    assert f"denied: quota exceeded: 0 B used of 100 B (project {project})" in text, text
    # nothing was stored: the project's usage is still 0
    assert "0 B used" in auth_server.cli("project", "set-limit", project, "100B")
