"""Seeded random requests at /v2 with hostile names, references, bodies and headers:
whatever arrives, the answer is never a 5xx."""

from __future__ import annotations

import random

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
