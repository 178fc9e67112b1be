"""What podman, skopeo and buildah print when a signed-in user may not push or pull.

Checked against this machine's clients (podman 4.3, skopeo 1.9, buildah 1.28): the
registry answers 403 DENIED with a message that names the project or repository, and
each client prints that message. An anonymous caller still gets 401 (a login prompt).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.clients import ClientSandbox, ImageBuilder, LayoutImage
from tests.integration.conftest import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@dataclass(frozen=True)
class Place:
    group: str
    mine: str  # private, the user is Reporter: may pull, not push
    hidden: str  # private, the user has no role
    authfile: str


@pytest.fixture(scope="module")
def place(auth_server: LiveServer, auth_sandbox: ClientSandbox, tmp_path_factory) -> Place:
    group = f"deny-{secrets.token_hex(3)}"
    auth_server.cli("group", "create", group)
    for name in ("mine", "hidden"):
        auth_server.cli("project", "create", f"{group}/{name}", "--visibility", "private")
    user, password = f"carol{secrets.token_hex(2)}", "carol-" + secrets.token_hex(8)
    auth_server.cli(
        "user", "create", user, "--email", f"{user}@example.com", "--password", password
    )
    auth_server.cli("member", "add", user, f"{group}/mine", "reporter")
    authfile = Path(tmp_path_factory.mktemp("deny-auth")) / "auth.json"
    authfile.write_text('{"auths": {}}\n')
    auth_sandbox.run(
        [
            "podman",
            "login",
            "--tls-verify=false",
            "--authfile",
            str(authfile),
            "-u",
            user,
            "-p",
            password,
            auth_sandbox.registry,
        ]  # fmt: skip
    )
    return Place(group, f"{group}/mine", f"{group}/hidden", str(authfile))


@pytest.fixture(scope="module")
def builder(auth_sandbox: ClientSandbox, tmp_path_factory) -> ImageBuilder:
    return ImageBuilder(auth_sandbox, tmp_path_factory.mktemp("deny-images"))


@pytest.fixture(scope="module")
def layout(builder: ImageBuilder) -> LayoutImage:
    return builder.single("deny")


def output(result) -> str:
    assert result.returncode != 0, result.describe()
    return result.stdout + result.stderr


def skopeo_push(sandbox: ClientSandbox, layout: LayoutImage, authfile: str, repo: str) -> str:
    cmd = ["skopeo", "copy", "--dest-tls-verify=false", "--dest-authfile", authfile]
    return output(sandbox.run([*cmd, layout.ref, sandbox.docker_ref(repo, "v1")], check=False))


def test_skopeo_push_to_a_missing_project_says_why(
    auth_sandbox: ClientSandbox, place: Place, layout: LayoutImage
) -> None:
    text = skopeo_push(auth_sandbox, layout, place.authfile, f"{place.group}/nope")
    assert f"denied: project {place.group}/nope does not exist or you cannot push to it" in text
    assert "unexpected end of JSON input" not in text


def test_skopeo_push_as_reporter_names_the_project(
    auth_sandbox: ClientSandbox, place: Place, layout: LayoutImage
) -> None:
    text = skopeo_push(auth_sandbox, layout, place.authfile, f"{place.mine}/img")
    assert f"denied: project {place.mine} does not exist or you cannot push to it" in text


def test_podman_and_buildah_push_to_a_hidden_project_say_why(
    auth_sandbox: ClientSandbox, place: Place, builder: ImageBuilder
) -> None:
    local = builder.local("denypush")
    target = auth_sandbox.ref(f"{place.hidden}/img", "v1")
    for tool in ("podman", "buildah"):
        cmd = [tool, "push", "--tls-verify=false", "--authfile", place.authfile, local, target]
        text = output(auth_sandbox.run(cmd, check=False))
        # The same words as for a project that does not exist: nothing is revealed.
        assert (
            f"denied: project {place.hidden}/img does not exist or you cannot push to it" in text
        ), text
        assert "unexpected end of JSON input" not in text


def test_podman_and_skopeo_pull_from_a_hidden_project_say_why(
    auth_sandbox: ClientSandbox, place: Place
) -> None:
    repo = f"{place.hidden}/img"
    expected = f"denied: project {repo} does not exist or you cannot pull from it"
    pulled = auth_sandbox.podman(
        "pull", "--tls-verify=false", "--authfile", place.authfile,
        auth_sandbox.ref(repo, "v1"), check=False,
    )  # fmt: skip
    assert expected in output(pulled)
    inspected = auth_sandbox.skopeo(
        "inspect", "--authfile", place.authfile, auth_sandbox.docker_ref(repo, "v1"), check=False
    )
    assert expected in output(inspected)


def test_anonymous_pull_is_still_asked_to_log_in(auth_sandbox: ClientSandbox, place: Place) -> None:
    result = auth_sandbox.skopeo(
        "inspect", "--no-creds", auth_sandbox.docker_ref(f"{place.hidden}/img", "v1"), check=False
    )
    text = output(result)
    assert "does not exist or you cannot" not in text
    assert "unauthorized" in text.lower() or "authentication required" in text.lower()
