"""Stateless replicas, proven with real parts: three Dockyard servers on one PostgreSQL
database and one SeaweedFS bucket, each with its own data folder (nothing shared on disk),
Redis when the settings know it, and HAProxy in front, round-robin, no stickiness.

skopeo and podman push through the balancer and pull from each replica directly; a
chunked upload hops between replicas; a replica is killed in the middle of a push; a
token revoked on one replica is refused on the others; S3 goes away and comes back.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dockyard.auth.epoch import MAX_AGE_SECONDS
from tests.integration.clients import ClientSandbox, ImageBuilder, OciLayout, fresh_dir
from tests.integration.conftest import ADMIN_PASSWORD, LiveServer, fail_on_traceback, free_port
from tests.support.seaweed import SeaweedS3

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
REPLICAS = 3
CREDS = f"admin:{ADMIN_PASSWORD}"


def haproxy_config(port: int, replicas: list[LiveServer]) -> str:
    """Round-robin, no stickiness; a replica leaves the rotation when /-/ready fails."""
    servers = "\n".join(
        f"  server r{i} {r.host} check inter 300ms fall 2 rise 2" for i, r in enumerate(replicas, 1)
    )
    return f"""global
  maxconn 512
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  retries 3
  option redispatch
  retry-on conn-failure
frontend registry
  bind 127.0.0.1:{port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /-/ready
  http-check expect status 200
{servers}
"""


class Balancer:
    def __init__(self, folder: Path, replicas: list[LiveServer]) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.config = folder / "haproxy.cfg"
        self.config.write_text(haproxy_config(self.port, replicas))
        self.log = folder / "haproxy.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [haproxy, "-db", "-f", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/-/ready", timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("haproxy did not come up\n" + self.log.read_text())

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)


@dataclass
class Cluster:
    replicas: list[LiveServer]
    balancer: Balancer
    seaweed: SeaweedS3
    sandbox: ClientSandbox  # skopeo/podman pointed at the balancer
    images: ImageBuilder

    def direct(self, replica: LiveServer, root: Path) -> ClientSandbox:
        return ClientSandbox(replica.host, root / f"clients-{replica.port}")

    def http(self, base: str) -> httpx.Client:
        return httpx.Client(base_url=base, trust_env=False, timeout=60)


def bearer(base: str, repository: str, actions: str = "pull,push") -> str:
    """A registry token from that replica's /jwt/auth (any replica must accept it)."""
    resp = httpx.get(
        f"{base}/jwt/auth",
        params={"service": "dockyard", "scope": f"repository:{repository}:{actions}"},
        auth=("admin", ADMIN_PASSWORD),
        trust_env=False,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["token"]


@pytest.fixture(scope="module")
def cluster(
    postgres_url: Callable[[], str],
    seaweed: SeaweedS3,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    database = postgres_url()
    root = tmp_path_factory.mktemp("replicas")
    env = {
        "DOCKYARD_STORAGE": "s3",
        "DOCKYARD_S3_ENDPOINT": seaweed.endpoint,
        "DOCKYARD_S3_BUCKET": seaweed.bucket,
        "DOCKYARD_S3_PREFIX": "replicas-" + secrets.token_hex(4),
        "DOCKYARD_S3_ACCESS_KEY": seaweed.access_key,
        "DOCKYARD_S3_SECRET_KEY": seaweed.secret_key,
        "DOCKYARD_S3_PART_SIZE_BYTES": str(5 * 1024 * 1024),
        "DOCKYARD_WORKERS": "1",
        "DOCKYARD_REDIS_URL": "redis://127.0.0.1:6379/0",  # the shared cache
        "DOCKYARD_REDIS_KEY_PREFIX": f"dockyard-test-{secrets.token_hex(4)}:",
    }
    replicas = [
        LiveServer("dockyard", root / f"r{i}", database, auth="token", extra_env=env)
        for i in range(1, REPLICAS + 1)
    ]
    balancer = Balancer(root, replicas)
    started: list[LiveServer] = []
    try:
        for replica in replicas:  # each its own data folder: nothing shared on disk
            replica.start()
            started.append(replica)
        balancer.start()
        replicas[0].cli("group", "create", "replicas")
        replicas[0].cli("project", "create", "replicas/app", "--visibility", "private")
        sandbox = ClientSandbox(balancer.host, root / "clients")
        yield Cluster(replicas, balancer, seaweed, sandbox, ImageBuilder(sandbox, root / "img"))
    finally:
        balancer.stop()
        for replica in started:
            replica.stop()
    for replica in replicas:
        fail_on_traceback(replica.log(), f"in replica {replica.host}")


def manifest_digest(sandbox: ClientSandbox, repo: str, tag: str) -> str:
    raw = sandbox.run(
        [
            "skopeo",
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            CREDS,
            sandbox.docker_ref(repo, tag),
        ]  # fmt: skip
    ).raw_stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def test_skopeo_and_podman_push_through_the_balancer_and_every_replica_serves_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    image = cluster.images.single("replicated")
    digestfile = tmp_path / "digest"
    target = cluster.sandbox.docker_ref("replicas/app/skopeo", "v1")
    cluster.sandbox.skopeo_copy(image.ref, target, "--dest-creds", CREDS,
                                "--digestfile", str(digestfile))  # fmt: skip
    pushed = digestfile.read_text().strip()

    local = cluster.images.local("podrep")
    cluster.sandbox.podman("login", "--tls-verify=false", "-u", "admin", "-p", ADMIN_PASSWORD,
                           cluster.sandbox.registry)  # fmt: skip
    cluster.sandbox.podman("push", "--tls-verify=false", local,
                           cluster.sandbox.ref("replicas/app/podman", "v1"))  # fmt: skip
    by_podman = manifest_digest(cluster.sandbox, "replicas/app/podman", "v1")

    for replica in cluster.replicas:
        direct = cluster.direct(replica, tmp_path)
        assert manifest_digest(direct, "replicas/app/skopeo", "v1") == pushed
        assert manifest_digest(direct, "replicas/app/podman", "v1") == by_podman
        back = OciLayout(fresh_dir(tmp_path, f"back-{replica.port}"))
        direct.skopeo_copy(direct.docker_ref("replicas/app/skopeo", "v1"), f"oci:{back.path}:v1",
                           "--src-creds", CREDS)  # fmt: skip
        assert back.descriptor("v1")["digest"] == pushed
        pulled = back.json_blob(pushed)
        for entry in [pulled["config"], *pulled["layers"]]:
            assert (
                "sha256:" + hashlib.sha256(back.blob(entry["digest"])).hexdigest()
                == entry["digest"]
            )


def _chunks() -> tuple[bytes, bytes, str]:
    first = os.urandom(6 * 1024 * 1024 + 17)  # more than one S3 part
    second = os.urandom(1024 * 1024 + 3)
    return first, second, "sha256:" + hashlib.sha256(first + second).hexdigest()


def test_a_chunked_upload_hops_between_replicas_and_its_digest_is_checked(
    cluster: Cluster,
) -> None:
    one, two, three = (r.url for r in cluster.replicas)
    repository = "replicas/app/chunked"
    token = bearer(one, repository)  # issued by replica one, used on all three
    headers = {"Authorization": f"Bearer {token}"}
    first, second, digest = _chunks()

    for wrong in (False, True):
        with cluster.http(one) as a, cluster.http(two) as b, cluster.http(three) as c:
            started = a.post(f"/v2/{repository}/blobs/uploads/", headers=headers)
            assert started.status_code == 202, started.text
            location = started.headers["Location"]
            patched = b.patch(location, content=first, headers={
                **headers, "Content-Type": "application/octet-stream",
                "Content-Range": f"0-{len(first) - 1}"})  # fmt: skip
            assert patched.status_code == 202, patched.text
            patched = c.patch(patched.headers["Location"], content=second, headers={
                **headers, "Content-Type": "application/octet-stream",
                "Content-Range": f"{len(first)}-{len(first) + len(second) - 1}"})  # fmt: skip
            assert patched.status_code == 202, patched.text
            claimed = "sha256:" + "0" * 64 if wrong else digest
            sep = "&" if "?" in patched.headers["Location"] else "?"
            done = a.put(f"{patched.headers['Location']}{sep}digest={claimed}", headers=headers)
            if wrong:
                assert done.status_code == 400, done.text
                assert done.json()["errors"][0]["code"] == "DIGEST_INVALID"
                assert (
                    b.head(f"/v2/{repository}/blobs/{claimed}", headers=headers).status_code == 404
                )
            else:
                assert done.status_code == 201, done.text
                for client in (a, b, c):
                    got = client.get(f"/v2/{repository}/blobs/{digest}", headers=headers)
                    assert got.status_code == 200 and got.content == first + second


def test_a_replica_killed_in_the_middle_of_a_push_loses_nothing_acknowledged(
    cluster: Cluster, tmp_path: Path
) -> None:
    victim = cluster.replicas[1]
    repository = "replicas/app/killed"
    blob = os.urandom(24 * 1024 * 1024)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    token = bearer(cluster.replicas[0].url, repository)
    headers = {"Authorization": f"Bearer {token}"}
    before = manifest_digest(cluster.sandbox, "replicas/app/skopeo", "v1")  # acknowledged earlier

    def slow_body() -> Iterator[bytes]:
        for offset in range(0, len(blob), 256 * 1024):
            yield blob[offset : offset + 256 * 1024]
            time.sleep(0.02)

    outcome: dict[str, object] = {}

    def push_to_victim() -> None:
        try:
            with cluster.http(victim.url) as http:
                started = http.post(f"/v2/{repository}/blobs/uploads/", headers=headers)
                sep = "&" if "?" in started.headers["Location"] else "?"
                outcome["response"] = http.put(
                    f"{started.headers['Location']}{sep}digest={digest}",
                    content=slow_body(),
                    headers={**headers, "Content-Type": "application/octet-stream"},
                )
        except httpx.HTTPError as error:
            outcome["error"] = error

    pushing = threading.Thread(target=push_to_victim)
    pushing.start()
    time.sleep(1.0)  # a few MiB are in
    victim.kill()
    pushing.join(60)
    assert "error" in outcome, outcome  # the push was cut off, never acknowledged
    with cluster.http(cluster.balancer.url) as http:
        assert http.head(f"/v2/{repository}/blobs/{digest}", headers=headers).status_code == 404

        # The client retries through the balancer; the dead replica is routed around.
        started = http.post(f"/v2/{repository}/blobs/uploads/", headers=headers)
        assert started.status_code == 202, started.text
        sep = "&" if "?" in started.headers["Location"] else "?"
        octets = {**headers, "Content-Type": "application/octet-stream"}
        url = f"{started.headers['Location']}{sep}digest={digest}"
        done = http.put(url, content=blob, headers=octets)
        assert done.status_code == 201, done.text
        got = http.get(f"/v2/{repository}/blobs/{digest}", headers=headers)
        assert hashlib.sha256(got.content).hexdigest() == digest.removeprefix("sha256:")
    assert manifest_digest(cluster.sandbox, "replicas/app/skopeo", "v1") == before

    victim.start()  # back into the rotation with nothing to recover by hand
    assert manifest_digest(cluster.direct(victim, tmp_path), "replicas/app/skopeo", "v1") == before


def _token(replica: LiveServer) -> tuple[int, str]:
    out = json.loads(replica.cli("token", "create", "personal", "--user", "admin",
                                 "--scope", "read_registry", "--scope", "api",
                                 "--name", "replica-test", "-o", "json"))  # fmt: skip
    return int(out["id"]), str(out["token"])


def test_a_token_revoked_on_one_replica_is_refused_on_the_others(cluster: Cluster) -> None:
    one, two, three = cluster.replicas
    token_id, secret = _token(one)
    with cluster.http(two.url) as b, cluster.http(three.url) as c:
        for client in (b, c):
            assert client.get("/v2/_catalog", auth=("admin", secret)).status_code == 200
        with cluster.http(one.url) as a:
            gone = a.delete(f"/api/v1/user/tokens/{token_id}",
                            headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
            assert gone.status_code in (200, 204), gone.text
            assert a.get("/v2/_catalog", auth=("admin", secret)).status_code == 401  # at once
        # The documented bound (docs/operations.md, "Caches and how stale they may be"): the
        # others read the epoch at most MAX_AGE_SECONDS late; every request sent later fails.
        # Waiting out that bound is the behaviour under test, not a synchronisation (and
        # sends no refused logins that would count towards the lockout).
        time.sleep(MAX_AGE_SECONDS)
        for client in (b, c):
            refused = client.get("/v2/_catalog", auth=("admin", secret))
            assert refused.status_code == 401, refused.text


def test_without_s3_requests_fail_clearly_and_recover_without_a_restart(
    cluster: Cluster,
) -> None:
    repository = "replicas/app/outage"
    token = bearer(cluster.replicas[0].url, repository)
    headers = {"Authorization": f"Bearer {token}"}
    data = os.urandom(4096)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with cluster.http(cluster.replicas[2].url) as http:
        assert http.get("/-/ready").status_code == 200
    cluster.seaweed.stop()
    try:
        for replica in cluster.replicas:
            with cluster.http(replica.url) as http:
                ready = http.get("/-/ready")
                assert ready.status_code == 503 and "storage" in ready.json()["failed"]
                pushed = http.post(f"/v2/{repository}/blobs/uploads/?digest={digest}",
                                   content=data, headers=headers)  # fmt: skip
                assert pushed.status_code == 503, pushed.text
                assert pushed.json()["errors"][0]["message"]  # says why
    finally:
        cluster.seaweed.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the balancer's checks bring the replicas back
        with cluster.http(cluster.balancer.url) as http:
            if http.get("/-/ready").status_code == 200:
                break
        time.sleep(0.3)
    with cluster.http(cluster.balancer.url) as http:
        pushed = http.post(f"/v2/{repository}/blobs/uploads/?digest={digest}",
                           content=data, headers=headers)  # fmt: skip
        assert pushed.status_code == 201, pushed.text
        for replica in cluster.replicas:
            got = httpx.get(f"{replica.url}/v2/{repository}/blobs/{digest}", headers=headers,
                            trust_env=False, follow_redirects=True)  # fmt: skip
            assert got.status_code == 200 and got.content == data
