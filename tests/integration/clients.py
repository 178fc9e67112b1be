"""Helpers for the integration suite: real clients in a private sandbox, OCI layouts, raw HTTP.

Everything here talks only to the registry under test on 127.0.0.1. The clients
(skopeo, podman, buildah) get a private image store, registries.conf, auth file and
blob-info cache, so a run never sees (or leaves behind) another run's state.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = ", ".join(
    [
        OCI_MANIFEST,
        OCI_INDEX,
        DOCKER_MANIFEST,
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)

# containers/image keeps this cache here for every root process and has no flag to move it.
GLOBAL_BLOB_INFO_CACHE = Path("/var/lib/containers/cache")

DEFAULT_TIMEOUT = 120.0


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def host_arch() -> str:
    """This machine's architecture in OCI terms (podman warns when an image does not match)."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


# --------------------------------------------------------------------------- processes


class ClientError(AssertionError):
    """A client command failed or hung; the message carries everything needed to debug it."""


@dataclass(frozen=True)
class Result:
    cmd: tuple[str, ...]
    returncode: int
    raw_stdout: bytes
    raw_stderr: bytes

    @property
    def stdout(self) -> str:
        return self.raw_stdout.decode(errors="replace")

    @property
    def stderr(self) -> str:
        return self.raw_stderr.decode(errors="replace")

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.cmd)}\nexit {self.returncode}\n"
            f"--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}"
        )


def run(
    cmd: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> Result:
    """Run one command with a hard timeout (podman has none of its own).

    The command gets its own process group so that a hung client and anything it
    spawned are killed together when the timeout fires.
    """
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=30)
        result = Result(tuple(cmd), -9, stdout, stderr)
        raise ClientError(f"timed out after {timeout:.0f} s\n{result.describe()}") from None
    result = Result(tuple(cmd), proc.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise ClientError(result.describe())
    return result


# --------------------------------------------------------------------------- client sandbox


@dataclass
class ClientSandbox:
    """Private configuration for skopeo, podman and buildah talking to one registry host.

    The blob-info cache is the one piece of state containers/image always keeps in a
    fixed path for root. Each command therefore runs in its own mount namespace with a
    private directory bind-mounted over that path; where namespaces are not allowed,
    the global cache file is removed once instead (fresh image content per session
    keeps it from masking anything either way).
    """

    registry: str
    root: Path
    env: dict[str, str] = field(init=False)
    isolated_cache: bool = field(init=False, default=False)
    _prefix: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        storage = self.root / "storage.conf"
        storage.write_text(
            "[storage]\n"
            'driver = "vfs"\n'
            f'graphroot = "{self.root / "graphroot"}"\n'
            f'runroot = "{self.root / "runroot"}"\n'
        )
        registries = self.root / "registries.conf"
        registries.write_text(
            "unqualified-search-registries = []\n\n"
            f'[[registry]]\nlocation = "{self.registry}"\ninsecure = true\n'
        )
        engine = self.root / "containers.conf"
        engine.write_text(
            f'[engine]\ntmp_dir = "{self.root / "libpod-tmp"}"\nevents_logger = "none"\n'
        )
        auth = self.root / "auth.json"
        auth.write_text('{"auths": {}}\n')
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(
            CONTAINERS_STORAGE_CONF=str(storage),
            CONTAINERS_REGISTRIES_CONF=str(registries),
            CONTAINERS_CONF=str(engine),
            REGISTRY_AUTH_FILE=str(auth),
            TMPDIR=str(self._mkdir("tmp")),
            NO_PROXY="*",
        )
        self.env = env
        self._isolate_blob_info_cache()

    def _mkdir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _isolate_blob_info_cache(self) -> None:
        cache = self._mkdir("blob-info-cache")
        GLOBAL_BLOB_INFO_CACHE.mkdir(mode=0o700, parents=True, exist_ok=True)
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        prefix = ["unshare", "--mount", "--propagation", "private", "--"]
        prefix += ["sh", "-c", script, "isolate", str(cache), str(GLOBAL_BLOB_INFO_CACHE)]
        marker = GLOBAL_BLOB_INFO_CACHE / ".dockyard-probe"
        probe = run([*prefix, "touch", str(marker)], timeout=30, env=self.env, check=False)
        if probe.returncode == 0 and (cache / marker.name).exists() and not marker.exists():
            self._prefix = prefix
            self.isolated_cache = True
            return
        warnings.warn(
            "cannot bind-mount a private blob-info cache "
            f"({probe.stderr.strip()}); removing the global one instead",
            stacklevel=2,
        )
        marker.unlink(missing_ok=True)
        (GLOBAL_BLOB_INFO_CACHE / "blob-info-cache-v1.boltdb").unlink(missing_ok=True)

    def run(
        self, cmd: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT, check: bool = True
    ) -> Result:
        """Run a client command inside the sandbox (private config and cache)."""
        full = [*self._prefix, *cmd]
        return run(full, timeout=timeout, env=self.env, cwd=self.root, check=check)

    def ref(self, repo: str, tag_or_digest: str = "") -> str:
        """'host/repo:tag' or 'host/repo@sha256:...' (as podman and buildah take it)."""
        sep = "@" if tag_or_digest.startswith("sha256:") else ":"
        return f"{self.registry}/{repo}{sep + tag_or_digest if tag_or_digest else ''}"

    def docker_ref(self, repo: str, tag_or_digest: str = "") -> str:
        """The same reference with skopeo's transport prefix."""
        return "docker://" + self.ref(repo, tag_or_digest)

    # skopeo has no registries.conf support in 1.9, so TLS is turned off per command.
    def skopeo_copy(
        self, src: str, dst: str, *extra: str, timeout: float = DEFAULT_TIMEOUT
    ) -> Result:
        tls = ["--src-tls-verify=false", "--dest-tls-verify=false"]
        return self.run(["skopeo", "copy", *tls, *extra, src, dst], timeout=timeout)

    def skopeo(
        self, verb: str, *args: str, timeout: float = DEFAULT_TIMEOUT, check: bool = True
    ) -> Result:
        """skopeo inspect / list-tags / delete against the registry, TLS off."""
        cmd = ["skopeo", verb, "--tls-verify=false", *args]
        return self.run(cmd, timeout=timeout, check=check)

    def inspect_raw(self, repo: str, tag_or_digest: str) -> bytes:
        """The manifest bytes exactly as the registry serves them."""
        out = self.skopeo("inspect", "--raw", self.docker_ref(repo, tag_or_digest))
        return out.raw_stdout

    def inspect(self, repo: str, tag_or_digest: str) -> dict[str, Any]:
        return json.loads(self.skopeo("inspect", self.docker_ref(repo, tag_or_digest)).stdout)

    def podman(self, *args: str, timeout: float = DEFAULT_TIMEOUT, check: bool = True) -> Result:
        return self.run(["podman", *args], timeout=timeout, check=check)

    def buildah(self, *args: str, timeout: float = DEFAULT_TIMEOUT) -> Result:
        return self.run(["buildah", *args], timeout=timeout)


# --------------------------------------------------------------------------- OCI layouts


class OciLayout:
    """Read access to an OCI image layout directory, verifying every blob it returns."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def index(self) -> dict[str, Any]:
        return json.loads((self.path / "index.json").read_text())

    def descriptor(self, tag: str) -> dict[str, Any]:
        """The top-level descriptor named ``tag`` (org.opencontainers.image.ref.name)."""
        found = [
            d
            for d in self.index()["manifests"]
            if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
        ]
        assert len(found) == 1, f"{self.path}: expected one entry for {tag!r}, got {found}"
        return found[0]

    def blob(self, digest: str) -> bytes:
        algorithm, _, hex_digest = digest.partition(":")
        data = (self.path / "blobs" / algorithm / hex_digest).read_bytes()
        assert sha256_digest(data) == digest, f"{self.path}: blob {digest} is corrupt"
        return data

    def json_blob(self, digest: str) -> dict[str, Any]:
        return json.loads(self.blob(digest))


@dataclass(frozen=True)
class LayoutImage:
    """An image stored as an OCI layout, ready for ``skopeo copy``."""

    path: Path
    tag: str
    token: str

    @property
    def ref(self) -> str:
        return f"oci:{self.path}:{self.tag}"

    @property
    def layout(self) -> OciLayout:
        return OciLayout(self.path)


class ImageBuilder:
    """Builds tiny images from scratch with buildah; every image carries a fresh random file.

    Fresh content per image matters: clients remember which blobs a registry has (and in
    which compression), so reused content could let them skip the very upload under test.
    """

    def __init__(self, sandbox: ClientSandbox, workdir: Path) -> None:
        self.sandbox = sandbox
        self.workdir = workdir
        self.session_token = secrets.token_hex(6)
        self._count = 0

    def _name(self, label: str) -> str:
        self._count += 1
        return f"dy-{self.session_token}-{label}-{self._count}"

    def _build(self, name: str, arch: str, target: str) -> str:
        """Commit a one-file image for ``arch`` to ``target``; returns the file's token."""
        token = f"{name} {arch} {secrets.token_hex(16)}\n"
        source = self.workdir / f"{name}-{arch}.txt"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(token)
        container = f"{name}-{arch}-ctr"
        self.sandbox.buildah("from", "--name", container, "scratch")
        self.sandbox.buildah("copy", "-q", container, str(source), "/token.txt")
        config = ["--arch", arch, "--os", "linux", "--cmd", '["/token.txt"]']
        config += ["--label", f"org.opencontainers.image.title={name}"]
        self.sandbox.buildah("config", *config, container)
        self.sandbox.buildah("commit", "-q", "--rm", "--timestamp", "0", container, target)
        return token

    def single(self, label: str) -> LayoutImage:
        """A one-layer image for this machine's platform, as an OCI layout tagged v1."""
        name = self._name(label)
        path = self.workdir / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)  # buildah needs the parent to exist
        token = self._build(name, host_arch(), f"oci:{path}:v1")
        return LayoutImage(path, "v1", token)

    def local(self, label: str) -> str:
        """A one-layer image committed to the private containers-storage; returns its name."""
        name = self._name(label)
        image = f"localhost/{name}:v1"
        self._build(name, host_arch(), image)
        return image

    def multi(self, label: str, arches: Sequence[str] = ("amd64", "arm64")) -> LayoutImage:
        """An OCI index of one image per architecture, as an OCI layout tagged v1."""
        name = self._name(label)
        index = f"localhost/{name}:v1"
        self.sandbox.buildah("manifest", "create", index)
        for arch in arches:
            image = f"localhost/{name}-{arch}:v1"
            self._build(name, arch, image)
            self.sandbox.buildah("manifest", "add", index, f"containers-storage:{image}")
        path = self.workdir / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.sandbox.buildah("manifest", "push", "--all", index, f"oci:{path}:v1")
        return LayoutImage(path, "v1", name)


def fresh_dir(parent: Path, name: str) -> Path:
    """An empty directory (skopeo wants the parent of an ``oci:`` target to exist)."""
    path = parent / name
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- raw HTTP


def new_http(base_url: str, timeout: float = 60.0) -> httpx.Client:
    """A client that ignores proxy settings: the registry is on loopback."""
    return httpx.Client(base_url=base_url, timeout=timeout, trust_env=False)


def absolute(base_url: str, location: str) -> str:
    """Resolve a Location header, which the spec allows to be relative or absolute."""
    return urljoin(base_url + "/", location)


def with_query(url: str, **params: str) -> str:
    """Append parameters to a URL, keeping its existing query string (upload state)."""
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def push_blob(client: httpx.Client, repo: str, data: bytes, *, single_post: bool = False) -> str:
    """Upload a blob monolithically; returns its digest. Asserts the spec's status codes.

    ``single_post`` tries the one-request form (POST ?digest=). A registry may answer it
    with 202 and a session instead, in which case the PUT still has to follow.
    """
    digest = sha256_digest(data)
    url = f"/v2/{repo}/blobs/uploads/"
    if single_post:
        headers = {"Content-Type": "application/octet-stream"}
        resp = client.post(url, params={"digest": digest}, content=data, headers=headers)
        if resp.status_code == 201:
            assert resp.headers.get("Docker-Content-Digest", digest) == digest
            return digest
    else:
        resp = client.post(url)
    assert resp.status_code == 202, f"POST {url}: {resp.status_code} {resp.text}"
    target = with_query(absolute(str(client.base_url), resp.headers["Location"]), digest=digest)
    put = client.put(target, content=data, headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 201, f"PUT {target}: {put.status_code} {put.text}"
    return digest


def put_manifest(
    client: httpx.Client, repo: str, ref: str, body: bytes, media_type: str
) -> httpx.Response:
    headers = {"Content-Type": media_type}
    return client.put(f"/v2/{repo}/manifests/{ref}", content=body, headers=headers)


def get_manifest(
    client: httpx.Client, repo: str, ref: str, accept: str = MANIFEST_ACCEPT
) -> httpx.Response:
    return client.get(f"/v2/{repo}/manifests/{ref}", headers={"Accept": accept})


def tags_of(client: httpx.Client, repo: str) -> list[str]:
    """The repository's tag list via the API (no paging: tests stay far below any cap)."""
    resp = client.get(f"/v2/{repo}/tags/list")
    assert resp.status_code == 200, f"tags/list {repo}: {resp.status_code} {resp.text}"
    return resp.json().get("tags") or []
