"""Real clients against Dockyard's default, token auth: podman and skopeo log in with
every kind of credential, push and pull, and are refused when they should be.

Users, projects and tokens are made with the dockyard CLI, as an operator would.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.clients import ClientSandbox, ImageBuilder, LayoutImage
from tests.integration.conftest import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@dataclass(frozen=True)
class Team:
    project: str  # private, alice is Developer
    other: str  # private, alice is Reporter
    public: str
    alice_password: str


def issue(server: LiveServer, *args: str) -> tuple[int, str, str]:
    """Create a token with the CLI; (id, username to log in with, secret)."""
    out = server.cli("token", "create", *args)
    match = re.search(r"token (\d+) \(\w+\) for (\S+): (\S+)", out)
    assert match, out
    return int(match.group(1)), match.group(2), match.group(3)


@pytest.fixture(scope="module")
def team(auth_server: LiveServer) -> Team:
    group = f"team-{secrets.token_hex(3)}"
    auth_server.cli("group", "create", group)
    for name, visibility in (("app", "private"), ("other", "private"), ("pub", "public")):
        auth_server.cli("project", "create", f"{group}/{name}", "--visibility", visibility)
    password = "alice-" + secrets.token_hex(8)
    auth_server.cli(
        "user", "create", "alice", "--email", "alice@example.com", "--password", password
    )
    auth_server.cli("member", "add", "alice", f"{group}/app", "developer")
    auth_server.cli("member", "add", "alice", f"{group}/other", "reporter")
    return Team(f"{group}/app", f"{group}/other", f"{group}/pub", password)


@pytest.fixture(scope="module")
def image(auth_sandbox: ClientSandbox, tmp_path_factory: pytest.TempPathFactory) -> LayoutImage:
    return ImageBuilder(auth_sandbox, tmp_path_factory.mktemp("auth-images")).single("authtiny")


@pytest.fixture
def authfile(tmp_path: Path) -> str:
    path = tmp_path / "auth.json"
    path.write_text('{"auths": {}}\n')
    return str(path)


def login(
    sandbox: ClientSandbox, tool: str, authfile: str, user: str, secret: str, check: bool = True
):
    return sandbox.run(
        [
            tool,
            "login",
            "--tls-verify=false",
            "--authfile",
            authfile,
            "-u",
            user,
            "-p",
            secret,
            sandbox.registry,
        ],
        check=check,
    )


def push(sandbox: ClientSandbox, image: LayoutImage, repo: str, authfile: str):
    return sandbox.skopeo_copy(
        image.ref, sandbox.docker_ref(repo, "v1"), "--dest-authfile", authfile
    )


def refused(result) -> bool:
    text = (result.stdout + result.stderr).lower()
    return result.returncode != 0 and (
        "denied" in text or "unauthorized" in text or "authentication required" in text
    )


def test_podman_login_with_a_password_push_and_pull(
    auth_sandbox: ClientSandbox,
    tmp_path_factory: pytest.TempPathFactory,
    team: Team,
    authfile: str,
) -> None:
    local = ImageBuilder(auth_sandbox, tmp_path_factory.mktemp("podman-auth")).local("podauth")
    out = login(auth_sandbox, "podman", authfile, "alice", team.alice_password)
    assert "Login Succeeded" in out.stdout
    target = auth_sandbox.ref(f"{team.project}/pod", "v1")
    auth_sandbox.podman("push", "--authfile", authfile, local, target)
    auth_sandbox.podman("rmi", "-f", local)
    auth_sandbox.podman("pull", "--authfile", authfile, target)
    listed = auth_sandbox.podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    assert f"{auth_sandbox.registry}/{team.project}/pod:v1" in listed
    wrong = login(auth_sandbox, "podman", authfile, "alice", "not-her-password", check=False)
    assert wrong.returncode != 0


def test_skopeo_login_with_a_personal_access_token(
    auth_server: LiveServer,
    auth_sandbox: ClientSandbox,
    image: LayoutImage,
    team: Team,
    authfile: str,
) -> None:
    _, user, secret = issue(
        auth_server,
        "personal",
        "--user",
        "alice",
        "--scope",
        "read_registry",
        "--scope",
        "write_registry",
    )
    assert secret.startswith("dy_pat_")
    login(auth_sandbox, "skopeo", authfile, user, secret)
    push(auth_sandbox, image, f"{team.project}/skopeo", authfile)
    seen = auth_sandbox.skopeo(
        "inspect", "--authfile", authfile, auth_sandbox.docker_ref(f"{team.project}/skopeo", "v1")
    )
    assert '"Digest"' in seen.stdout
    denied = auth_sandbox.run(
        [
            "skopeo",
            "copy",
            "--dest-tls-verify=false",
            "--dest-authfile",
            authfile,
            image.ref,
            auth_sandbox.docker_ref(f"{team.other}/x", "v1"),
        ],
        check=False,
    )
    assert refused(denied)  # a Reporter there


def test_read_only_token_cannot_push(
    auth_server: LiveServer,
    auth_sandbox: ClientSandbox,
    image: LayoutImage,
    team: Team,
) -> None:
    _, user, secret = issue(auth_server, "personal", "--user", "alice", "--scope", "read_registry")
    creds = f"{user}:{secret}"
    attempt = auth_sandbox.run(
        [
            "skopeo",
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            image.ref,
            auth_sandbox.docker_ref(f"{team.project}/ro", "v1"),
        ],
        check=False,
    )
    assert refused(attempt)


def test_deploy_token_pulls_and_cannot_push(
    auth_server: LiveServer,
    auth_sandbox: ClientSandbox,
    image: LayoutImage,
    team: Team,
    authfile: str,
) -> None:
    _, writer, write_secret = issue(
        auth_server, "personal", "--user", "alice", "--scope", "write_registry"
    )
    login(auth_sandbox, "skopeo", authfile, writer, write_secret)
    push(auth_sandbox, image, f"{team.project}/deployed", authfile)
    _, user, secret = issue(
        auth_server,
        "deploy",
        "--project",
        team.project,
        "--name",
        "k8s",
        "--scope",
        "read_registry",
    )
    assert secret.startswith("dy_deploy_") and user == "deploy-k8s"
    ok = auth_sandbox.skopeo(
        "inspect",
        "--creds",
        f"{user}:{secret}",
        auth_sandbox.docker_ref(f"{team.project}/deployed", "v1"),
    )
    assert '"Digest"' in ok.stdout
    attempt = auth_sandbox.run(
        [
            "skopeo",
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            f"{user}:{secret}",
            image.ref,
            auth_sandbox.docker_ref(f"{team.project}/by-deploy", "v1"),
        ],
        check=False,
    )
    assert refused(attempt)


def test_ci_job_token(
    auth_server: LiveServer,
    auth_sandbox: ClientSandbox,
    image: LayoutImage,
    team: Team,
    authfile: str,
) -> None:
    _, user, secret = issue(auth_server, "job", "--project", team.project, "--user", "alice")
    assert user == "dockyard-ci-token" and secret.startswith("dy_job_")
    out = login(auth_sandbox, "podman", authfile, user, secret)
    assert "Login Succeeded" in out.stdout
    push(auth_sandbox, image, f"{team.project}/ci", authfile)
    elsewhere = auth_sandbox.run(
        [
            "skopeo",
            "copy",
            "--dest-tls-verify=false",
            "--dest-authfile",
            authfile,
            image.ref,
            auth_sandbox.docker_ref(f"{team.other}/ci", "v1"),
        ],
        check=False,
    )
    assert refused(elsewhere)  # pushes only to its own project


def test_expired_and_revoked_tokens_are_refused(
    auth_server: LiveServer,
    auth_sandbox: ClientSandbox,
    team: Team,
    authfile: str,
) -> None:
    _, user, secret = issue(
        auth_server, "job", "--project", team.project, "--user", "alice", "--ttl", "1"
    )
    time.sleep(2)
    assert login(auth_sandbox, "skopeo", authfile, user, secret, check=False).returncode != 0
    token_id, user, secret = issue(
        auth_server, "personal", "--user", "alice", "--scope", "read_registry"
    )
    login(auth_sandbox, "skopeo", authfile, user, secret)
    auth_server.cli("token", "revoke", str(token_id))
    assert login(auth_sandbox, "skopeo", authfile, user, secret, check=False).returncode != 0


def test_anonymous_pulls_only_public_images(
    auth_server: LiveServer,
    auth_sandbox: ClientSandbox,
    image: LayoutImage,
    team: Team,
    authfile: str,
) -> None:
    _, user, secret = issue(auth_server, "personal", "--user", "admin", "--scope", "api")
    login(auth_sandbox, "skopeo", authfile, user, secret)
    for project in (team.public, team.project):
        push(auth_sandbox, image, f"{project}/anon", authfile)
    public = auth_sandbox.skopeo(
        "inspect", "--no-creds", auth_sandbox.docker_ref(f"{team.public}/anon", "v1")
    )
    assert '"Digest"' in public.stdout
    private = auth_sandbox.skopeo(
        "inspect", "--no-creds", auth_sandbox.docker_ref(f"{team.project}/anon", "v1"), check=False
    )
    assert refused(private)
