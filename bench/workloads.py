"""The measured work. Each function takes a server and returns its numbers.

Heavy byte streams use curl (so the client is not the bottleneck); request storms use
aiohttp or ApacheBench (`ab`), bounded in count. Every request carries
``server.headers(repositories…)``: nothing, or a bearer token when Dockyard runs with
token auth (got before the clock starts).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

import aiohttp
import httpx

from bench.servers import Server

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CHUNK = 16 * 1024 * 1024


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(8 * 1024 * 1024):
            hasher.update(block)
    return "sha256:" + hasher.hexdigest()


def _start(url: str, repo: str, headers: dict[str, str] | None = None) -> str:
    resp = httpx.post(f"{url}/v2/{repo}/blobs/uploads/", headers=headers, timeout=30)
    assert resp.status_code == 202, resp.text
    location = resp.headers["location"]
    return location if location.startswith("http") else url + location


def _header_args(headers: dict[str, str]) -> list[str]:
    """``headers`` as curl and ab arguments."""
    return [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]


def _with_digest(location: str, blob_digest: str) -> str:
    return location + ("&" if "?" in location else "?") + f"digest={blob_digest}"


def push_monolithic(server: Server, blob: Path, blob_digest: str) -> dict:
    headers = server.headers("bench/mono")
    location = _start(server.url, "bench/mono", headers)
    auth = _header_args(headers)
    rss_before = server.rss()
    began = time.perf_counter()
    out = subprocess.run(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "PUT",
            "-T",
            str(blob),
            "-H",
            "Content-Type: application/octet-stream",
            *auth,
            _with_digest(location, blob_digest),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - began
    assert out.stdout == "201", f"{server.name} monolithic push: {out.stdout} {out.stderr}"
    return {
        "push_mono_MBps": blob.stat().st_size / seconds / 1e6,
        "push_rss_growth_MiB": max(0, server.peak_rss - rss_before) / 2**20,
    }


def push_chunked(server: Server, blob: Path, blob_digest: str) -> dict:
    headers = server.headers("bench/chunked")
    location = _start(server.url, "bench/chunked", headers)
    size = blob.stat().st_size
    began = time.perf_counter()
    with httpx.Client(timeout=120, headers=headers) as client, blob.open("rb") as handle:
        offset = 0
        while offset < size:
            chunk = handle.read(CHUNK)
            end = offset + len(chunk) - 1
            resp = client.patch(
                location,
                content=chunk,
                headers={
                    "Content-Range": f"{offset}-{end}",
                    "Content-Type": "application/octet-stream",
                },
            )
            assert resp.status_code == 202, f"{server.name} PATCH: {resp.status_code} {resp.text}"
            new = resp.headers["location"]
            location = new if new.startswith("http") else server.url + new
            offset = end + 1
        resp = client.put(_with_digest(location, blob_digest))
        assert resp.status_code == 201, f"{server.name} close: {resp.status_code} {resp.text}"
    return {"push_chunked_MBps": size / (time.perf_counter() - began) / 1e6}


def pull(server: Server, blob_digest: str, size: int, clients: int) -> dict:
    url = f"{server.url}/v2/bench/mono/blobs/{blob_digest}"
    command = ["curl", "-s", "-f", "-o", "/dev/null", *_header_args(server.headers("bench/mono"))]
    cpu = server.cpu()
    began = time.perf_counter()
    procs = [subprocess.Popen([*command, url]) for _ in range(clients)]
    assert all(p.wait(timeout=600) == 0 for p in procs), f"{server.name} pull failed"
    seconds = time.perf_counter() - began
    gigabytes = size * clients / 1e9
    return {
        f"pull_{clients}_MBps": size * clients / seconds / 1e6,
        f"pull_{clients}_cpu_s_per_GB": (server.cpu() - cpu) / gigabytes,
    }


async def _push_image(
    session: aiohttp.ClientSession,
    url: str,
    repo: str,
    layers: list[bytes],
    tag: str,
    digests: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    headers = headers or {}
    descriptors = []
    for i, data in enumerate(layers):
        known = digests[i] if digests else None
        descriptors.append(await _push_blob(session, url, repo, data, known, headers))
    config = json.dumps({"architecture": "amd64", "os": "linux", "tag": tag}).encode()
    config_desc = await _push_blob(session, url, repo, config, headers=headers)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_desc},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **d}
                for d in descriptors
            ],
        }
    ).encode()
    async with session.put(
        f"{url}/v2/{repo}/manifests/{tag}",
        data=manifest,
        headers={"Content-Type": OCI_MANIFEST, **headers},
    ) as resp:
        assert resp.status == 201, await resp.text()


async def _push_blob(
    session: aiohttp.ClientSession,
    url: str,
    repo: str,
    data: bytes,
    known_digest: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict:
    headers = headers or {}
    blob_digest = known_digest or digest(data)
    async with session.post(f"{url}/v2/{repo}/blobs/uploads/", headers=headers) as resp:
        assert resp.status == 202, await resp.text()
        location = resp.headers["Location"]
    location = location if location.startswith("http") else url + location
    async with session.put(
        _with_digest(location, blob_digest),
        data=data,
        headers={"Content-Type": "application/octet-stream", **headers},
    ) as resp:
        assert resp.status == 201, await resp.text()
    return {"digest": blob_digest, "size": len(data)}


async def _bounded(jobs, concurrency: int) -> None:  # noqa: ANN001
    gate = asyncio.Semaphore(concurrency)

    async def run(job):  # noqa: ANN001, ANN202
        async with gate:
            await job

    await asyncio.gather(*(run(job) for job in jobs))


def push_images(server: Server, images: int, layers: int, layer_size: int) -> dict:
    """Images pushed the way clients do (POST + PUT per blob, then the manifest); the
    content and its digests are made before the clock starts, so the client stays light."""
    content = [[os.urandom(layer_size) for _ in range(layers)] for _ in range(images)]
    digests = [[digest(layer) for layer in image] for image in content]
    repos = [f"bench/img{i % 10}" for i in range(images)]
    headers = {repo: server.headers(repo) for repo in repos}

    cpu = [0.0]

    async def main() -> float:
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as session:
            cpu[0] = server.cpu()
            began = time.perf_counter()
            await _bounded(
                [
                    _push_image(
                        session,
                        server.url,
                        repos[i],
                        content[i],
                        f"t{i}",
                        digests[i],
                        headers[repos[i]],
                    )
                    for i in range(images)
                ],
                8,
            )
            return time.perf_counter() - began

    seconds = asyncio.run(main())
    return {
        "images_per_s": images / seconds,
        "images_cpu_ms_per_image": (server.cpu() - cpu[0]) * 1000 / images,
    }


def mounts(server: Server, count: int) -> dict:
    """Distinct blobs, each mounted once into another repository (aiohttp, concurrency 16)."""
    source = server.headers("bench/src")
    both = server.headers("bench/src", "bench/dst")  # pull from one, push to the other

    async def main() -> float:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
            blobs = [os.urandom(64) + i.to_bytes(4, "big") for i in range(count)]
            await _bounded(
                [_push_blob(session, server.url, "bench/src", b, headers=source) for b in blobs], 16
            )

            async def mount(blob: bytes) -> None:
                query = f"mount={digest(blob)}&from=bench/src"
                target = f"{server.url}/v2/bench/dst/blobs/uploads/?{query}"
                async with session.post(target, headers=both) as r:
                    assert r.status == 201, f"{server.name} mount: {r.status}"

            cpu[0] = server.cpu()
            began = time.perf_counter()
            await _bounded([mount(b) for b in blobs], 16)
            return time.perf_counter() - began

    cpu = [0.0]
    seconds = asyncio.run(main())
    return {
        "mounts_per_s": count / seconds,
        "mounts_cpu_ms_per_mount": (server.cpu() - cpu[0]) * 1000 / count,
    }


def _ab(url: str, requests: int, extra: list[str]) -> dict:
    out = subprocess.run(
        ["ab", "-q", "-k", "-c", "64", "-n", str(requests), *extra, url],
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    assert failed == 0 and not non2xx, f"ab saw errors on {url}:\n{out}"
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.M))
    return {
        "rps": float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1)),
        "p50_ms": float(percentiles["50"]),
        "p99_ms": float(percentiles["99"]),
    }


def manifest_get(server: Server, requests: int) -> dict:
    config = os.urandom(32)
    headers = server.headers("bench/get")

    async def setup() -> None:
        async with aiohttp.ClientSession() as session:
            await _push_image(session, server.url, "bench/get", [config], "latest", headers=headers)

    asyncio.run(setup())
    result = _ab(
        f"{server.url}/v2/bench/get/manifests/latest",
        requests,
        ["-H", f"Accept: {OCI_MANIFEST}", *_header_args(headers)],
    )
    return {f"manifest_get_{k}": v for k, v in result.items()}


def blob_head(server: Server, blob_digest: str, requests: int) -> dict:
    auth = _header_args(server.headers("bench/mono"))
    result = _ab(f"{server.url}/v2/bench/mono/blobs/{blob_digest}", requests, ["-i", *auth])
    return {f"blob_head_{k}": v for k, v in result.items()}


def _page_through(
    url: str, first: str, headers: dict[str, str] | None = None
) -> tuple[float, int, int]:
    """Follow Link rel=next from ``first``; (seconds, pages, items)."""
    pages = items = 0
    with httpx.Client(timeout=60, headers=headers) as client:
        client.get(url + "/v2/")  # connected (and the client built: ~10 ms) before the clock
        began = time.perf_counter()
        target: str | None = first
        while target and pages < 10_000:
            resp = client.get(url + target)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            items += len(body.get("tags") or body.get("repositories") or [])
            pages += 1
            link = resp.headers.get("link")
            target = link.split(";")[0].strip("<>") if link else None
            if target and target.startswith("http"):
                target = "/" + target.split("/", 3)[3]
        elapsed = time.perf_counter() - began
    return elapsed, pages, items


def tags_list(server: Server, count: int) -> dict:
    headers = server.headers("bench/taglist")

    async def setup() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as session:
            await _push_image(
                session, server.url, "bench/taglist", [b"layer"], "t0", headers=headers
            )
            async with session.get(
                f"{server.url}/v2/bench/taglist/manifests/t0",
                headers={"Accept": OCI_MANIFEST, **headers},
            ) as resp:
                manifest = await resp.read()

            async def tag(i: int) -> None:
                async with session.put(
                    f"{server.url}/v2/bench/taglist/manifests/tag{i:05d}",
                    data=manifest,
                    headers={"Content-Type": OCI_MANIFEST, **headers},
                ) as r:
                    assert r.status == 201

            began = time.perf_counter()
            await _bounded([tag(i) for i in range(count)], 16)
            put_seconds[0] = time.perf_counter() - began

    put_seconds = [0.0]
    asyncio.run(setup())
    seconds, pages, items = _page_through(server.url, "/v2/bench/taglist/tags/list?n=100", headers)
    # The whole list as a client asks for it: no n, following Link while the server pages.
    full = []
    for _ in range(5):
        took, _, seen = _page_through(server.url, "/v2/bench/taglist/tags/list", headers)
        assert seen == count + 1, f"{server.name}: {seen} tags listed"
        full.append(took)
    return {
        "tag_put_per_s": count / put_seconds[0],
        "tags_total_ms": seconds * 1000,
        "tags_ms_per_page": seconds * 1000 / pages,
        "tags_full_ms": statistics.median(full) * 1000,
        "tags_pages": pages,
        "tags_seen": items,
    }


def catalog(server: Server, count: int) -> dict:
    repos = [f"cat/r{i:05d}" for i in range(count)]
    headers = [server.headers(repo) for repo in repos]

    async def setup() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as session:
            await _bounded(
                [
                    _push_image(session, server.url, repo, [], "v1", headers=auth)
                    for repo, auth in zip(repos, headers, strict=True)
                ],
                16,
            )

    asyncio.run(setup())
    seconds, pages, items = _page_through(
        server.url, "/v2/_catalog?n=100", server.headers(catalog=True)
    )
    return {"catalog_total_ms": seconds * 1000, "catalog_pages": pages, "catalog_seen": items}
