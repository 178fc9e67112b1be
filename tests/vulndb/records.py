"""OSV records written for the tests, shaped like osv.dev's real ones."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

T0 = "2023-10-01T00:00:00Z"
T1 = "2023-11-01T00:00:00Z"


def _rng(*events: dict[str, str], kind: str = "ECOSYSTEM") -> dict[str, Any]:
    return {"type": kind, "events": list(events)}


DEBIAN_OPENSSL = {
    "id": "DSA-5532-1",
    "modified": T0,
    "published": "2023-10-24T00:00:00Z",
    "aliases": ["CVE-2023-5363"],
    "summary": "openssl - security update",
    "affected": [
        {
            "package": {
                "ecosystem": "Debian:12",
                "name": "openssl",
                "purl": "pkg:deb/debian/openssl",
            },
            "ranges": [_rng({"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"})],
        },
        {
            "package": {"ecosystem": "Debian:11", "name": "openssl"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "1.1.1w-0+deb11u1"})],
        },
    ],
}

DEBIAN11_ZLIB = {  # Debian 11 only: a Debian 12 image must not see it
    "id": "DLA-3999-1",
    "modified": T0,
    "aliases": ["CVE-2022-37434"],
    "summary": "zlib - security update",
    "affected": [
        {
            "package": {"ecosystem": "Debian:11", "name": "zlib"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "1:1.2.11.dfsg-2+deb11u2"})],
        }
    ],
}

DEBIAN_CURL_FIXED = {
    "id": "DSA-5587-1",
    "modified": T0,
    "aliases": ["CVE-2023-46218"],
    "summary": "curl - security update",
    "affected": [
        {
            "package": {"ecosystem": "Debian:12", "name": "curl"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "7.88.1-10+deb12u5"})],
        }
    ],
}

UBUNTU_CURL = {
    "id": "UBUNTU-CVE-2023-38545",
    "modified": T0,
    "aliases": ["CVE-2023-38545"],
    "details": "SOCKS5 heap buffer overflow\nlonger text",
    "severity": [{"type": "Ubuntu", "score": "high"}],
    "affected": [
        {
            "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "curl"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "7.81.0-1ubuntu1.14"})],
        },
        {
            "package": {"ecosystem": "Ubuntu:Pro:18.04:LTS", "name": "curl"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "7.58.0-2ubuntu3.24+esm1"})],
        },
    ],
}

ALPINE_OPENSSL = {
    "id": "ALPINE-CVE-2023-5678",
    "modified": T0,
    "affected": [
        {
            "package": {"ecosystem": "Alpine:v3.19", "name": "openssl"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "3.1.4-r1"})],
        }
    ],
}

PYPI_REQUESTS = {  # a CVSS v3.1 vector: 7.5, high
    "id": "GHSA-x84v-xcm2-53pg",
    "modified": T0,
    "aliases": ["CVE-2018-18074"],
    "summary": "Insecure Temporary File in Requests",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "requests"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "2.20.0"})],
        }
    ],
    "database_specific": {"severity": "HIGH"},
}

PYPI_JINJA = {  # only GHSA's word for severity; name spelled differently from the wheel
    "id": "GHSA-462w-v97r-4m45",
    "modified": T0,
    "aliases": ["CVE-2019-10906"],
    "summary": "Jinja2 sandbox escape via string formatting",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "jinja2"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "2.10.1"})],
            "versions": ["2.10", "2.9.6"],
        }
    ],
    "database_specific": {"severity": "MODERATE"},
}

PYPI_URLLIB3_WITHDRAWN = {
    "id": "GHSA-wqvq-5m8c-6g24",
    "modified": T0,
    "withdrawn": "2023-09-01T00:00:00Z",
    "summary": "withdrawn: not a vulnerability",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "urllib3"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "9.0.0"})],
        }
    ],
}

NPM_LODASH = {
    "id": "GHSA-35jh-r3h4-6jhm",
    "modified": T0,
    "aliases": ["CVE-2021-23337"],
    "summary": "Command Injection in lodash",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "4.17.21"}, kind="SEMVER")],
        }
    ],
}

NPM_MINIMIST = {
    "id": "GHSA-xvch-5gv4-984h",
    "modified": T0,
    "summary": "Prototype Pollution in minimist",
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "minimist"},
            "ranges": [
                _rng({"introduced": "0"}, {"fixed": "0.2.4"}, kind="SEMVER"),
                _rng({"introduced": "1.0.0"}, {"fixed": "1.2.6"}, kind="SEMVER"),
            ],
        }
    ],
    "database_specific": {"severity": "CRITICAL"},
}

GO_STDLIB = {
    "id": "GO-2023-1878",
    "modified": T0,
    "aliases": ["CVE-2023-29406"],
    "summary": "Insufficient sanitization of Host header in net/http",
    "affected": [
        {
            "package": {"ecosystem": "Go", "name": "stdlib"},
            "ranges": [
                _rng(
                    {"introduced": "0"},
                    {"fixed": "1.19.11"},
                    {"introduced": "1.20.0"},
                    {"fixed": "1.20.6"},
                    kind="SEMVER",
                )
            ],
        }
    ],
}

GO_XNET = {
    "id": "GO-2023-1571",
    "modified": T0,
    "affected": [
        {
            "package": {"ecosystem": "Go", "name": "golang.org/x/net"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "0.7.0"}, kind="SEMVER")],
        }
    ],
}

MAVEN_LOG4J = {
    "id": "GHSA-jfh8-c2jp-5v3q",
    "modified": T0,
    "aliases": ["CVE-2021-44228"],
    "summary": "Remote code injection in Log4j",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
            "ranges": [_rng({"introduced": "2.0-beta9"}, {"fixed": "2.15.0"})],
        }
    ],
}

CRATES_ONLY = {
    "id": "RUSTSEC-2023-0001",
    "modified": T0,
    "affected": [
        {
            "package": {"ecosystem": "crates.io", "name": "tokio"},
            "ranges": [_rng({"introduced": "0"}, {"fixed": "1.18.4"}, kind="SEMVER")],
        }
    ],
}

ALL = [
    DEBIAN_OPENSSL,
    DEBIAN11_ZLIB,
    DEBIAN_CURL_FIXED,
    UBUNTU_CURL,
    ALPINE_OPENSSL,
    PYPI_REQUESTS,
    PYPI_JINJA,
    PYPI_URLLIB3_WITHDRAWN,
    NPM_LODASH,
    NPM_MINIMIST,
    GO_STDLIB,
    GO_XNET,
    MAVEN_LOG4J,
    CRATES_ONLY,
]
SUPPORTED = [r for r in ALL if r is not CRATES_ONLY]


def changed(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    new = copy.deepcopy(record)
    new.update(fields)
    return new


def write_folder(root: Path, records: list[dict[str, Any]]) -> Path:
    """One file per record, spread over nested folders like a git checkout of a DB."""
    for i, record in enumerate(records):
        folder = root / f"part{i % 3}" / "nested"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{record['id']}.json").write_text(json.dumps(record))
    return root


def write_zip(path: Path, records: list[dict[str, Any]]) -> Path:
    """Like osv.dev's <ecosystem>/all.zip: one <ID>.json per record at the top."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return path
