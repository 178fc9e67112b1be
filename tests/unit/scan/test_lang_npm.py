"""The npm analyzer reports each node_modules package once and nothing else."""

from __future__ import annotations

import io
import json

from dockyard.scan.analyzer import Found, Limits
from dockyard.scan.analyzers.npm import NpmAnalyzer

LAYER = "sha256:" + "b" * 64
NM = "usr/lib/node_modules/npm/node_modules"

# Shaped like the manifests npm itself ships (name, version, then the rest).
SEMVER = {
    "name": "semver",
    "version": "7.5.4",
    "description": "The semantic version parser used by npm.",
    "main": "index.js",
    "scripts": {"test": "tap", "snap": "tap", "lint": 'eslint "**/*.js"'},
    "devDependencies": {"@npmcli/eslint-config": "^4.0.0", "tap": "^16.0.0"},
    "license": "ISC",
    "repository": {"type": "git", "url": "https://github.com/npm/node-semver.git"},
    "bin": {"semver": "bin/semver.js"},
    "files": ["bin/", "lib/", "classes/", "functions/", "internal/", "ranges/", "index.js"],
    "engines": {"node": ">=10"},
    "dependencies": {"lru-cache": "^6.0.0"},
}
ARBORIST = {
    "name": "@npmcli/arborist",
    "version": "6.2.9",
    "description": "Manage node_modules trees",
    "dependencies": {"semver": "^7.3.7", "@npmcli/fs": "^3.1.0"},
    "license": "ISC",
    "main": "lib/index.js",
}
LRU = {"name": "lru-cache", "version": "6.0.0", "main": "index.js", "license": "ISC"}


def _json(doc: object) -> bytes:
    return json.dumps(doc, indent=2).encode()


Row = tuple[str, str, str | None, str]


def _scan(files: dict[str, bytes], limits: Limits = Limits()) -> set[Row]:
    analyzer = NpmAnalyzer()
    found = {}
    for path, data in files.items():
        if analyzer.wants(path, 0o100644, len(data)):
            value = analyzer.read(path, io.BytesIO(data), len(data), limits)
            if value is not None:
                found[path] = Found(LAYER, value)
    result = analyzer.finish(found, None)
    assert {(p.ecosystem, p.purl_type, p.layer_digest) for p in result.packages} <= {
        ("npm", "npm", LAYER)
    }
    return {(p.name, p.version, p.namespace, p.path) for p in result.packages}


def test_packages_in_node_modules_are_reported_and_nothing_else():
    files = {
        f"{NM}/semver/package.json": _json(SEMVER),
        f"{NM}/@npmcli/arborist/package.json": _json(ARBORIST),
        f"{NM}/semver/node_modules/lru-cache/package.json": _json(LRU),
        "app/node_modules/.pnpm/lru-cache@6.0.0/node_modules/lru-cache/package.json": _json(LRU),
        # Not packages: an app's own manifest, a fixture and a module-type marker inside a
        # package, the .bin folder, a scope folder itself, bad JSON, no version, a list.
        "srv/app/package.json": _json({"name": "my-app", "version": "1.0.0"}),
        f"{NM}/semver/test/fixtures/package.json": _json({"name": "fixture", "version": "0.0.1"}),
        f"{NM}/semver/lib/package.json": _json({"type": "module"}),
        f"{NM}/.bin/package.json": _json({"name": "bin", "version": "1.0.0"}),
        f"{NM}/@npmcli/package.json": _json({"name": "scope", "version": "1.0.0"}),
        f"{NM}/broken/package.json": b'{"name": "broken", "version": ',
        f"{NM}/latin1/package.json": b'{"name": "caf\xe9", "version": "1.0.0"}',
        f"{NM}/noversion/package.json": _json({"name": "noversion"}),
        f"{NM}/listy/package.json": b"[1, 2]",
        f"{NM}/numeric/package.json": _json({"name": "numeric", "version": 1}),
    }
    assert _scan(files) == {
        ("semver", "7.5.4", None, f"{NM}/semver/package.json"),
        ("@npmcli/arborist", "6.2.9", "@npmcli", f"{NM}/@npmcli/arborist/package.json"),
        ("lru-cache", "6.0.0", None, f"{NM}/semver/node_modules/lru-cache/package.json"),
        (
            "lru-cache",
            "6.0.0",
            None,
            "app/node_modules/.pnpm/lru-cache@6.0.0/node_modules/lru-cache/package.json",
        ),
    }


def test_a_manifest_larger_than_the_limit_is_skipped():
    data = _json(SEMVER)
    path = "node_modules/semver/package.json"
    assert _scan({path: data}, Limits(max_file_bytes=len(data) - 1)) == set()
    assert _scan({path: data}, Limits(max_file_bytes=len(data))) == {
        ("semver", "7.5.4", None, path)
    }
