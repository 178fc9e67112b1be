"""Promotion: how long copying a tag to another repository takes, by image size.

.venv/bin/python bench/promotion.py [--big-mib 1024] [--copies 20]

Three images are pushed to one Dockyard and one Distribution: 1 MiB in one layer, a big
single layer (``--big-mib``), and an index of two platforms with 20 layers each. Each is
then promoted ``--copies`` times to new tags in another repository:

- Dockyard: ``POST /api/v1/registry/repositories/{id}/tags/{tag}/copy`` (by reference,
  one transaction);
- both registries: ``skopeo copy docker://…/src:tag docker://…/dst:tag``, the client's
  way, which reads every manifest and mounts every blob (no layer bytes move when the
  registry allows cross-repository mounts, as both do here).

Medians and p95 in milliseconds go to stdout as a Markdown table; the raw figures to
bench/results/promotion.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import servers  # noqa: E402

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CHUNK = 8 * 1024 * 1024


def push_blob(client: httpx.Client, repo: str, size: int, seed: bytes) -> dict:
    """A blob of ``size`` bytes (a repeated random chunk, so nothing is held in memory)."""
    chunk = hashlib.sha512(seed).digest() * (CHUNK // 64)
    hasher = hashlib.sha256()
    left = size
    while left:
        hasher.update(chunk[: min(left, CHUNK)])
        left -= min(left, CHUNK)
    digest = "sha256:" + hasher.hexdigest()

    def body():  # noqa: ANN202
        left = size
        while left:
            yield chunk[: min(left, CHUNK)]
            left -= min(left, CHUNK)

    start = client.post(f"/v2/{repo}/blobs/uploads/")
    assert start.status_code == 202, start.text
    location = start.headers["location"]
    sep = "&" if "?" in location else "?"
    done = client.put(
        f"{location}{sep}digest={digest}",
        content=body(),
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
    )
    assert done.status_code == 201, done.text
    return {"mediaType": LAYER, "digest": digest, "size": size}


def push_image(client: httpx.Client, repo: str, tag: str, layers: list[int], seed: str) -> dict:
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    config_desc = push_blob(client, repo, len(config), config)  # content = seed-derived
    descs = [push_blob(client, repo, size, f"{seed}-{n}".encode()) for n, size in enumerate(layers)]
    config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config_desc, "layers": descs}
    ).encode()
    resp = client.put(
        f"/v2/{repo}/manifests/{tag}", content=manifest, headers={"Content-Type": OCI_MANIFEST}
    )
    assert resp.status_code == 201, resp.text
    return {"mediaType": OCI_MANIFEST, "digest": resp.headers["docker-content-digest"],
            "size": len(manifest)}  # fmt: skip


def push_index(client: httpx.Client, repo: str, tag: str) -> None:
    children = []
    for arch in ("amd64", "arm64"):
        child = push_image(client, repo, f"{tag}-{arch}", [256 * 1024] * 20, f"{tag}{arch}")
        children.append({**child, "platform": {"os": "linux", "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
    resp = client.put(
        f"/v2/{repo}/manifests/{tag}", content=index, headers={"Content-Type": OCI_INDEX}
    )
    assert resp.status_code == 201, resp.text


def seed(server: servers.Server, big: int) -> None:
    with httpx.Client(base_url=server.url, timeout=600) as client:
        push_image(client, "bench/src/app", "small", [1024 * 1024], "small")
        push_image(client, "bench/src/app", "big", [big], "big")
        push_index(client, "bench/src/app", "multi")


def skopeo_copy(server: servers.Server, tag: str, n: int) -> float:
    src = f"docker://{server.url.removeprefix('http://')}/bench/src/app:{tag}"
    dst = f"docker://{server.url.removeprefix('http://')}/bench/dst/app:{tag}-s{n}"
    began = time.perf_counter()
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--all", "--preserve-digests",
         "--src-tls-verify=false", "--dest-tls-verify=false", src, dst],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return (time.perf_counter() - began) * 1000


def api_copies(server: servers.Server, tag: str, copies: int) -> list[float]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        repos = client.get("/api/v1/projects/bench%2Fsrc/registry/repositories").json()
        repo_id = next(r["id"] for r in repos if r["name"] == "bench/src/app")
        timings = []
        for n in range(copies):
            body = {"target": f"bench/dst/app:{tag}-a{n}"}
            began = time.perf_counter()
            url = f"/api/v1/registry/repositories/{repo_id}/tags/{tag}/copy"
            resp = client.post(url, json=body)
            timings.append((time.perf_counter() - began) * 1000)
            assert resp.status_code == 201, resp.text
        return timings


def summary(timings: list[float]) -> dict:
    ordered = sorted(timings)
    return {"p50_ms": statistics.median(ordered), "p95_ms": ordered[int(len(ordered) * 0.95) - 1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--copies", type=int, default=20)
    args = parser.parse_args()
    big = args.big_mib * 1024 * 1024
    results: dict[str, dict] = {}

    dockyard = servers.dockyard(settings={"SCAN_ON_PUSH": "false"})
    env = {**dockyard.env}
    for command in (["setup"], ["group", "create", "bench"], ["project", "create", "bench/src"],
                    ["project", "create", "bench/dst"]):  # fmt: skip
        subprocess.run([sys.executable, "-m", "dockyard", *command], env=env, check=True,
                       capture_output=True)  # fmt: skip
    dockyard.start()
    distribution = servers.distribution()
    distribution.start()
    try:
        for server in (dockyard, distribution):
            seed(server, big)
        for tag in ("small", "big", "multi"):
            row = results.setdefault(tag, {})
            row["dockyard_api"] = summary(api_copies(dockyard, tag, args.copies))
            for name, server in (("dockyard", dockyard), ("distribution", distribution)):
                timings = [skopeo_copy(server, tag, n) for n in range(min(args.copies, 10))]
                row[f"{name}_skopeo"] = summary(timings)
    finally:
        dockyard.stop()
        distribution.stop()

    out = Path(__file__).parent / "results" / "promotion.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"big_mib": args.big_mib, "results": results}, indent=2))
    labels = {"small": "1 MiB, 1 layer", "big": f"{args.big_mib} MiB, 1 layer",
              "multi": "index, 2 × 20 layers"}  # fmt: skip
    print("| image | Dockyard copy API p50 / p95 | skopeo copy on Dockyard p50 | "
          "skopeo copy on Distribution p50 | Distribution (skopeo) ÷ Dockyard API |")
    print("|---|---|---|---|---|")
    for tag, row in results.items():
        api, ours, theirs = row["dockyard_api"], row["dockyard_skopeo"], row["distribution_skopeo"]
        print(f"| {labels[tag]} | {api['p50_ms']:.1f} / {api['p95_ms']:.1f} ms | "
              f"{ours['p50_ms']:.0f} ms | {theirs['p50_ms']:.0f} ms | "
              f"{theirs['p50_ms'] / api['p50_ms']:.0f}× |")  # fmt: skip


if __name__ == "__main__":
    main()
