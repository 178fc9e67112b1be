"""Seeded random requests at /v2 with hostile names, references, bodies and headers:
whatever arrives, the answer is never a 5xx."""

from __future__ import annotations

import hashlib
import random
from urllib.parse import quote

import pytest

NAMES = ["a", "a/b", "A", "a//b", "x" * 300, "%2e%2e", "a/../b", "é", "a%00b", "_catalog"]
REFERENCES = [
    "latest",
    "sha256:" + "a" * 64,
    "sha256:zz",
    "md5:" + "a" * 32,
    ".bad",
    "x" * 200,
    "%20",
    "sha512:" + "b" * 128,
    "00000000-0000-0000-0000-000000000000",
    "\u00b2",  # str.isdigit() says yes, int() says no
    "9" * 5000,  # past int()'s 4300-digit limit
]
BODIES = [
    b"",
    b"{}",
    b"null",
    b"[]",
    b'{"schemaVersion":2}',
    bytes(range(256)),
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
    b'"config":{"mediaType":"a/b","digest":"sha256:' + b"a" * 64 + b'","size":1e309},'
    b'"layers":[]}',
]
HEADERS = [
    {},
    {"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    {"Content-Range": "x-y"},
    {"Content-Range": "0-99999999999999999999"},
    {"Range": "bytes=9-1"},
    {"Range": "bytes=-0"},
    {"Accept": ",,,;"},
    {"Content-Type": "application/vnd.oci.image.index.v1+json; charset=\x7f"},
]


def paths() -> list[str]:
    found = []
    for name in NAMES:
        for ref in REFERENCES:
            found += [
                f"/v2/{name}/manifests/{ref}",
                f"/v2/{name}/blobs/{ref}",
                f"/v2/{name}/referrers/{ref}",
                f"/v2/{name}/blobs/uploads/{ref}",
                f"/v2/{name}/tags/list?n={ref}&last={ref}",
                f"/v2/{name}/blobs/uploads/?mount={ref}&from={name}&digest={ref}",
            ]
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_no_request_gets_a_server_error(client, seed: int) -> None:  # noqa: ANN001
    rng = random.Random(seed)
    candidates = paths()
    failures = []
    for _ in range(600):
        method = rng.choice(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"])
        path = rng.choice(candidates)
        resp = client.request(method, path, content=rng.choice(BODIES), headers=rng.choice(HEADERS))
        if resp.status_code >= 500:
            failures.append(f"{method} {path} -> {resp.status_code} {resp.text[:200]}")
    assert failures == []


# --- upload paths: hostile lengths, ranges, digests and bodies ----------------------------

HOSTILE_LENGTHS = ["-1", "abc", "1e3", "\u00b2", "9" * 40, "9" * 5000, "", " ", "0x10", "+5"]
HOSTILE_RANGES = [
    "-5-10",
    "5-1",
    "0-" + "9" * 5000,
    "9" * 5000 + "-1",
    "x-y",
    "0-",
    "-",
    "bytes 0-9/10",
    "bytes=0-9",
    "0-9/abc",
    "\u0660-\u0669",
    "0-9,10-19",
    "",
]
HOSTILE_DIGESTS = [
    "sha256:" + "a" * 63,
    "sha256:" + "a" * 65,
    "sha256:" + "A" * 64,
    "SHA256:" + "a" * 64,
    "md5:" + "a" * 32,
    "sha512:" + "a" * 64,
    "sha256:",
    ":",
    "sha256:" + "\u00e9" * 64,
    "sha256:" + "a" * 64 + "\n",
    "x" * 5000,
]


def hostile_headers(rng: random.Random, size: int, length: int) -> dict[str, bytes]:
    """Headers for a chunk of ``length`` bytes at session offset ``size``, often lying."""
    headers: dict[str, bytes] = {}
    roll = rng.random()
    if roll < 0.3:
        headers["Content-Range"] = rng.choice(HOSTILE_RANGES).encode("latin-1", "replace")
    elif roll < 0.6:
        start = size + rng.choice([0, 0, 0, -1, 1, 10**30])
        end = start + length - 1 + rng.choice([0, 0, -1, 1])
        headers["Content-Range"] = f"{start}-{end}".encode()
    if rng.random() < 0.4:
        headers["Content-Length"] = rng.choice(HOSTILE_LENGTHS).encode("latin-1", "replace")
    return headers


def chunked(data: bytes):  # noqa: ANN201 - a generator body makes httpx send it chunked
    yield data[: len(data) // 2]
    yield data[len(data) // 2 :]


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_uploads_under_hostile_headers(client, repo: str, seed: int) -> None:  # noqa: ANN001
    """Never a 5xx; a refused request never moves the session's Range."""
    rng = random.Random(seed)
    failures: list[str] = []
    start = client.post(f"/v2/{repo}/blobs/uploads/")
    location, size = start.headers["Location"], 0
    for _ in range(150):
        data = rng.randbytes(rng.choice([0, 1, 100, 4096]))
        body = chunked(data) if rng.random() < 0.2 else data
        headers = hostile_headers(rng, size, len(data))
        action = rng.choice(["patch", "patch", "put", "post", "status"])
        digest = quote(rng.choice(HOSTILE_DIGESTS + [digest_of(data), digest_of(b"x")]), safe=":")
        if action == "patch":
            resp = client.patch(location, content=body, headers=headers)
        elif action == "put":
            resp = client.put(f"{location}?digest={digest}", content=body, headers=headers)
        elif action == "post":
            url = f"/v2/{repo}/blobs/uploads/?digest={digest}"
            resp = client.post(url, content=body, headers=headers)
        else:
            resp = client.get(location)
        label = f"{action} {headers} digest={digest[:80]!r} -> {resp.status_code} {resp.text[:200]}"
        if resp.status_code >= 500:
            failures.append(label)
        if action == "patch" and resp.status_code == 202:
            size += len(data)
        elif action == "put" and resp.status_code == 201:
            location, size = client.post(f"/v2/{repo}/blobs/uploads/").headers["Location"], 0
            continue
        status = client.get(location)
        if status.status_code != 204 or status.headers["Range"] != f"0-{max(size - 1, 0)}":
            failures.append(f"{label}; then session {status.status_code} {status.headers}")
    assert failures == []


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
