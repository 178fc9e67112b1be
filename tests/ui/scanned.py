"""A project whose images were scanned for real: layers with a dpkg status database and
Python dist-info folders, advisories imported from OSV files, and the job worker drained
by the test (the registry runs with ``scan_on_push`` off, so nothing scans behind its back).

What the scans find, by design:
- ``web:v1``: one finding of each severity; the high and low ones have no fix yet;
- ``clean:v1``: scanned, nothing found;
- ``multi:v1``: an index whose amd64 image has the critical and high findings and whose
  arm64 image fails to scan (a layer that is no tar archive);
- ``notes:v1``: an artifact, not an image (``unsupported``);
- ``fresh:v1``: never scanned.
"""

from __future__ import annotations

import gzip
import io
import secrets
import tarfile
from dataclasses import dataclass
from pathlib import Path

from dockyard.admin.vulnerabilities import Vulnerabilities
from dockyard.storage import open_store
from dockyard.vulndb.importer import import_paths
from dockyard.workers.jobs import JobWorker
from dockyard.workers.kinds import job_kinds
from tests.api.helpers import Pushed, push_image, push_index, repository_id
from tests.scan.test_os_packages import DEBIAN_OS_RELEASE
from tests.support.auth_registry import AuthRegistry
from tests.vulndb.records import write_folder

SITE = "usr/local/lib/python3.11/site-packages"
STATUS = """Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u1

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
"""
CLEAN_STATUS = """Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u5
"""
CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN = (
    "DSA-9101-1",
    "DLA-9102-1",
    "GHSA-9103-aaaa-bbbb",
    "PYSEC-2099-4",
    "OSV-2099-5",
)
UNFIXED = {HIGH, LOW}


def _advisory(
    advisory_id: str, ecosystem: str, package: str, vector: str | None, fixed: str | None
) -> dict:
    events = [{"introduced": "0"}, *([{"fixed": fixed}] if fixed else [])]
    record = {
        "id": advisory_id,
        "modified": "2026-11-01T00:00:00Z",
        "aliases": [f"CVE-2099-{advisory_id[-4:]}"],
        "summary": f"{package}: a test advisory",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
        ],
    }
    if vector:
        record["severity"] = [{"type": "CVSS_V3", "score": vector}]
    return record


ADVISORIES = [
    _advisory(
        CRITICAL, "Debian:12", "openssl", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.0.15-1"
    ),
    _advisory(HIGH, "Debian:12", "zlib", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", None),
    _advisory(MEDIUM, "PyPI", "requests", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N", "2.31.0"),
    _advisory(LOW, "PyPI", "idna", "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N", None),
    _advisory(UNKNOWN, "PyPI", "idna", None, "3.7"),
]


def layer(files: dict[str, str]) -> bytes:
    """A gzip'd tar layer holding ``files``, plus a random file so no two are alike."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, text in {**files, "token.txt": secrets.token_hex(8)}.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def dist_info(name: str, version: str) -> dict[str, str]:
    path = f"{SITE}/{name}-{version}.dist-info/METADATA"
    return {path: f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"}


def debian(status: str = STATUS) -> bytes:
    return layer({"etc/os-release": DEBIAN_OS_RELEASE, "var/lib/dpkg/status": status})


@dataclass
class Scanned:
    project: str
    repository_ids: dict[str, int]
    web: Pushed
    clean: Pushed
    amd64: Pushed
    arm64: Pushed
    index: str
    notes: Pushed
    fresh: Pushed

    def repository(self, short: str) -> str:
        return f"{self.project}/{short}"


def drain(reg: AuthRegistry) -> None:
    """Run every queued job (scans) with the real scanner and matcher."""
    kinds = job_kinds(reg.settings, reg.db, open_store(reg.settings))
    JobWorker(reg.db, kinds, backoff_seconds=0).drain()


def scanned_project(reg: AuthRegistry, workdir: Path) -> Scanned:
    """Push the images, import the advisories, scan all but ``fresh``."""
    import_paths(reg.db, [write_folder(workdir / "osv", ADVISORIES)])
    project = reg.new_project("private")
    app = layer({**dist_info("requests", "2.30.0"), **dist_info("idna", "3.6")})
    web = push_image(reg, f"{project}/web", "v1", layers=[debian(), app])
    clean = push_image(reg, f"{project}/clean", "v1", layers=[debian(CLEAN_STATUS)])
    amd64 = push_image(reg, f"{project}/multi", "amd64", layers=[debian()])
    arm64 = push_image(reg, f"{project}/multi", "arm64", layers=[b"not gzip at all"])
    index = push_index(
        reg, f"{project}/multi", "v1", [amd64, arm64], [("linux", "amd64"), ("linux", "arm64")]
    )
    notes = push_image(
        reg, f"{project}/notes", "v1", layers=[b"a note"], artifact_type="application/x.note"
    )
    fresh = push_image(reg, f"{project}/fresh", "v1", layers=[debian()])
    ids = {
        short: repository_id(reg, project, f"{project}/{short}", reg.admin_pat)
        for short in ("web", "clean", "multi", "notes", "fresh")
    }
    vulnerabilities = Vulnerabilities(reg.db)
    scanned = {"web": web.digest, "clean": clean.digest, "multi": index, "notes": notes.digest}
    for short, digest in scanned.items():
        vulnerabilities.rescan(ids[short], f"{project}/{short}", digest)
    drain(reg)
    return Scanned(project, ids, web, clean, amd64, arm64, index, notes, fresh)
