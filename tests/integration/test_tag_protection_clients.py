r"""What skopeo and podman print when a tag protection rule refuses a push or a delete.

Checked against this machine's clients (podman 4.3, skopeo 1.9): the registry answers
403 DENIED naming the rule, its pattern and the level it takes, and each client prints
``denied: `` and that message after what it was doing. podman prints it as is; skopeo
prints a log line whose ``msg="..."`` doubles each backslash (so ``1\.\d+`` shows as
``1\\.\\d+``). The rules are added with the CLI before the first push, so the server
has nothing cached that could hide them.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass

import pytest

from tests.integration.clients import ClientSandbox, ImageBuilder, LayoutImage
from tests.integration.conftest import ADMIN_PASSWORD, LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@dataclass(frozen=True)
class Place:
    repo: str
    protected: int  # rule id: 'v.*', Maintainer pushes and deletes
    immutable: int  # rule id: '1\.\d+\.\d+'
    developer: str  # user:password
    maintainer: str


def _user(server: LiveServer, project: str, role: str) -> str:
    name, password = f"{role[:4]}{secrets.token_hex(3)}", f"{role}-" + secrets.token_hex(8)
    server.cli("user", "create", name, "--email", f"{name}@example.com", "--password", password)
    server.cli("member", "add", name, project, role)
    return f"{name}:{password}"


def _rule(server: LiveServer, project: str, *args: str) -> int:
    said = server.cli("protection", "add", project, *args)
    return int(re.match(r"added rule (\d+):", said).group(1))


@pytest.fixture(scope="module")
def place(auth_server: LiveServer) -> Place:
    group = f"prot-{secrets.token_hex(3)}"
    auth_server.cli("group", "create", group)
    project = f"{group}/app"
    auth_server.cli("project", "create", project)
    protected = _rule(
        auth_server, project, "--pattern", "v.*",
        "--push-level", "maintainer", "--delete-level", "maintainer",
    )  # fmt: skip
    immutable = _rule(auth_server, project, "--pattern", r"1\.\d+\.\d+", "--immutable")
    return Place(
        f"{project}/web",
        protected,
        immutable,
        _user(auth_server, project, "developer"),
        _user(auth_server, project, "maintainer"),
    )


@pytest.fixture(scope="module")
def builder(auth_sandbox: ClientSandbox, tmp_path_factory) -> ImageBuilder:  # noqa: ANN001
    return ImageBuilder(auth_sandbox, tmp_path_factory.mktemp("protect-images"))


def copy(sandbox: ClientSandbox, image: LayoutImage, repo: str, tag: str, creds: str):  # noqa: ANN201
    cmd = ["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", creds]
    return sandbox.run([*cmd, image.ref, sandbox.docker_ref(repo, tag)], check=False)


def logfmt(text: str) -> str:
    """``text`` as skopeo's log line quotes it inside ``msg="..."``."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def refused(result) -> str:  # noqa: ANN001
    assert result.returncode != 0, result.describe()
    return result.stderr


def test_skopeo_and_podman_print_the_rule_when_a_developer_pushes_a_protected_tag(
    auth_sandbox: ClientSandbox, place: Place, builder: ImageBuilder
) -> None:
    said = (
        f"writing manifest: uploading manifest v1 to {auth_sandbox.ref(place.repo)}: denied: "
        f"tag v1 is protected by rule {place.protected} (tag_name_pattern 'v.*'): "
        "only maintainer and above may push it (your access level: developer)"
    )
    image = builder.single("protected")
    printed = refused(copy(auth_sandbox, image, place.repo, "v1", place.developer))
    assert f'level=fatal msg="{said}"\n' in printed
    local = builder.local("protected-podman")
    pushed = auth_sandbox.podman(
        "push", "--tls-verify=false", "--creds", place.developer,
        local, auth_sandbox.ref(place.repo, "v1"), check=False,
    )  # fmt: skip
    assert refused(pushed).endswith(f"Error: {said}\n")
    assert copy(auth_sandbox, image, place.repo, "dev", place.developer).returncode == 0
    assert copy(auth_sandbox, image, place.repo, "v1", place.maintainer).returncode == 0


def test_skopeo_prints_why_an_immutable_tag_cannot_move_or_go(
    auth_sandbox: ClientSandbox, place: Place, builder: ImageBuilder
) -> None:
    first, second = builder.single("frozen-a"), builder.single("frozen-b")
    admin = f"admin:{ADMIN_PASSWORD}"
    assert copy(auth_sandbox, first, place.repo, "1.0.0", place.developer).returncode == 0
    message = (
        f"tag 1.0.0 is immutable by rule {place.immutable} "
        "(tag_name_pattern '1\\.\\d+\\.\\d+'): no one may move or delete it until the rule "
        "is removed"
    )
    where = auth_sandbox.ref(place.repo)
    printed = refused(copy(auth_sandbox, second, place.repo, "1.0.0", admin))
    said = f"writing manifest: uploading manifest 1.0.0 to {where}: denied: {message}"
    assert f'level=fatal msg="{logfmt(said)}"\n' in printed
    again = copy(auth_sandbox, first, place.repo, "1.0.0", admin)  # the same image: no move
    assert again.returncode == 0, again.describe()
    deleted = auth_sandbox.skopeo(
        "delete", "--creds", admin, auth_sandbox.docker_ref(place.repo, "1.0.0"), check=False
    )
    # skopeo deletes by digest and prints the error body as received.
    printed = refused(deleted)
    assert f'level=fatal msg="Failed to delete /v2/{place.repo}/manifests/sha256:' in printed
    assert logfmt(json.dumps(message)) in printed and printed.endswith(' (403 Forbidden)"\n')
