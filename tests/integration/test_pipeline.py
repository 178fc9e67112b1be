"""A CI pipeline end to end, on a live server with token auth: tests/integration/pipeline.sh
builds an image with buildah, pushes it under a CI job token (the deploy side's webhook
receiver hears the push, signed, with the digest to deploy), and promotes it with
deploy/ci/promote.sh (the copy API, no bytes moved); the promoted tag then pulls with
the same digest."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from dockyard.webhooks.signature import verify
from tests.integration.clients import ClientSandbox, run
from tests.integration.conftest import LiveServer
from tests.support.receiver import receiver

PIPELINE = Path(__file__).with_name("pipeline.sh")


@pytest.fixture(scope="module")
def ci_server(tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    server = LiveServer(
        "dockyard",
        tmp_path_factory.mktemp("ci-server"),
        "",
        auth="token",
        extra_env={"DOCKYARD_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"},  # the deploy side's receiver
    )
    server.start()
    yield server
    server.stop()


def token(server: LiveServer, *args: str) -> str:
    return json.loads(server.cli("token", "create", *args, "-o", "json"))["token"]


def test_build_push_promote_and_pull(ci_server: LiveServer, tmp_path: Path) -> None:
    group = f"acme{uuid.uuid4().hex[:6]}"
    server = ci_server
    server.cli("group", "create", group)
    server.cli("project", "create", f"{group}/app")
    server.cli("project", "create", f"{group}/prod")
    bot = f"bot{uuid.uuid4().hex[:6]}"
    server.cli(
        "user", "create", bot, "--email", f"{bot}@example.com", "--password", "bot-password-1234"
    )
    server.cli("member", "add", bot, f"{group}/app", "developer")
    bot_token = token(server, "personal", "--user", bot, "--name", "ci", "--scope", "api")
    releaser = f"rel{uuid.uuid4().hex[:6]}"
    server.cli(
        "user", "create", releaser, "--email", f"{releaser}@example.com",
        "--password", "release-password-1234",
    )  # fmt: skip
    server.cli("member", "add", releaser, f"{group}/app", "reporter")
    server.cli("member", "add", releaser, f"{group}/prod", "developer")
    release_token = token(server, "personal", "--user", releaser, "--name", "rel", "--scope", "api")

    sandbox = ClientSandbox(server.host, tmp_path / "clients")
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **sandbox.env,
        "REGISTRY": server.host,
        "BOT_TOKEN": bot_token,
        "RELEASE_TOKEN": release_token,
        "SOURCE_PROJECT": f"{group}/app",
        "SOURCE": f"{group}/app/web",
        "COMMIT": "3f2c1e7",
        "RELEASE": f"{group}/prod/web:1.0.0",
        "WORK": str(work),
    }
    admin_token = token(server, "personal", "--user", "admin", "--name", "hooks", "--scope", "api")
    with receiver() as deploy_side:
        resp = httpx.post(
            f"{server.url}/api/v1/projects/{group}/app/hooks",
            json={"url": deploy_side.url, "secret": "deploy-secret", "events": ["push"]},
            headers={"PRIVATE-TOKEN": admin_token},
        )
        assert resp.status_code == 201, resp.text
        done = run(["bash", str(PIPELINE)], env=env, timeout=180)
        for _ in range(100):  # the server's own worker loop sends it
            if deploy_side.received:
                break
            time.sleep(0.1)
    [hook] = deploy_side.received
    assert verify("deploy-secret", hook.body, hook.headers["x-dockyard-signature"])
    pushed = json.loads(hook.body)
    assert pushed["event"] == "push" and pushed["tag"] == "3f2c1e7"
    assert pushed["actor"]["kind"] == "job"
    promoted = json.loads(done.stdout.strip().splitlines()[-1])
    assert pushed["pull"] == f"{server.host}/{group}/app/web@{promoted['digest']}"
    assert promoted["target"] == f"{group}/prod/web:1.0.0"
    assert promoted["pull"] == f"{server.host}/{group}/prod/web@{promoted['digest']}"

    login = ["login", "--tls-verify=false", "-u", releaser, "-p", "release-password-1234"]
    sandbox.run(["skopeo", *login, server.host])
    built = sandbox.inspect(f"{group}/app/web", "3f2c1e7")
    released = sandbox.inspect(f"{group}/prod/web", "1.0.0")
    assert released["Digest"] == built["Digest"] == promoted["digest"]
    layout = tmp_path / "pulled"
    sandbox.skopeo_copy(sandbox.docker_ref(f"{group}/prod/web", "1.0.0"), f"oci:{layout}:pulled")
    assert (layout / "index.json").exists()
