"""A Harbor Pluggable Scanner API v1.2 adapter written for the tests: a real HTTP server.

It does what a real adapter (Trivy's, say) does, on a small scale: it checks every
request the way the spec describes it (the adapter's own Authorization, content types,
the ScanRequest's fields, the report's Accept header), pulls the image it is asked to
scan from the registry URL it is given, with the authorization it is given, verifying
every digest, and reports the dpkg packages it found against a small advisory table.
The report stays pending (302 + Refresh-After) for the first polls, as a real scan does.

Per repository, ``behaviour`` makes it misbehave: ``scan-500`` refuses the scan request,
``report-500`` fails the scan, ``pending`` never finishes, ``hang`` never answers the
report poll in time.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
REPORT_TYPE = "application/vnd.security.vulnerability.report; version=1.1"
REQUEST_TYPES = (
    "application/vnd.scanner.adapter.scan.request+json; version=1.0",
    "application/vnd.scanner.adapter.scan.request+json; version=1.1",
)
ERROR_TYPE = "application/vnd.scanner.adapter.error+json; version=1.0"
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
SEVERITY_ORDER = ("Unknown", "Negligible", "Low", "Medium", "High", "Critical")


@dataclass(frozen=True)
class Advisory:
    id: str
    fixed: str
    severity: str  # Harbor's scale
    score: float | None
    description: str


@dataclass
class Scan:
    id: str
    request: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    report: dict[str, Any] | None = None
    error: str | None = None
    polls: list[tuple[float, int]] = field(default_factory=list)  # (time, status answered)
    pulled: list[tuple[str, int]] = field(default_factory=list)  # (path, status)


class HarborAdapter:
    """Serves the adapter API on 127.0.0.1; ``url`` is what ``scanner_url`` points at."""

    def __init__(
        self,
        advisories: dict[str, list[Advisory]],
        auth: str,
        *,
        pending_polls: int = 2,
        refresh_after: int = 1,
    ) -> None:
        self.advisories = advisories
        self.auth = auth
        self.pending_polls = pending_polls
        self.refresh_after = refresh_after
        self.behaviour: dict[str, str] = {}  # repository -> a misbehaviour
        self.scans: dict[str, Scan] = {}
        self.refused: list[tuple[str, int, str]] = []  # (path, status, message)
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        adapter = self

        class Handler(_Handler):
            owner = adapter

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def scan_of(self, repository: str, digest: str) -> Scan:
        return next(
            s
            for s in self.scans.values()
            if s.request["artifact"]["repository"] == repository
            and s.request["artifact"]["digest"] == digest
        )

    # --- the work a scan does, on its own thread -------------------------------------

    def run(self, scan: Scan) -> None:
        try:
            scan.report = self._analyze(scan)
        except Exception as error:  # reported through the API, as a real adapter does
            scan.error = f"{type(error).__name__}: {error}"
        scan.done.set()

    def _analyze(self, scan: Scan) -> dict[str, Any]:
        registry, artifact = scan.request["registry"], scan.request["artifact"]
        if self.behaviour.get(artifact["repository"]) == "report-500":
            raise RuntimeError("the image could not be analyzed: unknown layer format")
        headers = {}
        if registry.get("authorization"):
            headers["Authorization"] = registry["authorization"]
        with httpx.Client(base_url=registry["url"], headers=headers, trust_env=False) as http:
            manifest = self._pull(
                http, scan, "manifests", artifact["digest"], artifact["mime_type"]
            )
            found: dict[tuple[str, str], str] = {}  # (package, version) -> first layer
            for layer in json.loads(manifest)["layers"]:
                data = self._pull(http, scan, "blobs", layer["digest"])
                for name, version in dpkg_packages(data):
                    found.setdefault((name, version), layer["digest"])
            self._pull(http, scan, "blobs", json.loads(manifest)["config"]["digest"])
        vulnerabilities = [
            vulnerability(advisory, name, version, layer)
            for (name, version), layer in sorted(found.items())
            for advisory in self.advisories.get(name, [])
        ]
        worst = max((v["severity"] for v in vulnerabilities), key=SEVERITY_ORDER.index)
        return {
            "generated_at": datetime.now(UTC).isoformat(),
            "artifact": artifact,
            "scanner": {"name": "TestScanner", "vendor": "Dockyard tests", "version": "1.2.3"},
            "severity": worst if vulnerabilities else "Unknown",
            "vulnerabilities": vulnerabilities,
        }

    def _pull(
        self, http: httpx.Client, scan: Scan, kind: str, digest: str, accept: str = "*/*"
    ) -> bytes:
        path = f"/v2/{scan.request['artifact']['repository']}/{kind}/{digest}"
        resp = http.get(path, headers={"Accept": accept}, follow_redirects=True)
        scan.pulled.append((path, resp.status_code))
        resp.raise_for_status()
        if "sha256:" + hashlib.sha256(resp.content).hexdigest() != digest:
            raise ValueError(f"{path}: the content does not match its digest")
        return resp.content


def vulnerability(advisory: Advisory, package: str, version: str, layer: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": advisory.id,
        "package": package,
        "version": version,
        "fix_version": advisory.fixed,
        "severity": advisory.severity,
        "description": advisory.description,
        "links": [f"https://security-tracker.example/{advisory.id}"],
        "layer": {"digest": layer},  # what Trivy's adapter adds
    }
    if advisory.score is not None:
        item["preferred_cvss"] = {"score_v3": advisory.score}
    return item


def dpkg_packages(layer: bytes) -> list[tuple[str, str]]:
    """(Package, Version) of each entry of var/lib/dpkg/status in a gzip tar layer."""
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as archive:
        for member in archive:
            if member.name.lstrip("./") == "var/lib/dpkg/status":
                text = archive.extractfile(member).read().decode()  # type: ignore[union-attr]
                return re.findall(r"^Package: (\S+)$.*?^Version: (\S+)$", text, re.M | re.S)
    return []


class _Handler(BaseHTTPRequestHandler):
    owner: HarborAdapter

    def log_message(self, *args: Any) -> None:  # quiet: the tests assert on what happened
        pass

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path == "/api/v1/metadata":
            self._metadata()
            return
        match = re.fullmatch(r"/api/v1/scan/([^/]+)/report", self.path)
        if match is None:
            self._error(404, f"no such path {self.path}")
            return
        self._report(match.group(1))

    def do_POST(self) -> None:
        if not self._authorized():
            return
        if self.path != "/api/v1/scan":
            self._error(404, f"no such path {self.path}")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Type") not in REQUEST_TYPES:
            self._error(400, f"unsupported content type {self.headers.get('Content-Type')!r}")
            return
        try:
            request = json.loads(body)
        except ValueError as error:
            self._error(400, f"unmarshalling scan request: {error}")
            return
        problem = scan_request_problem(request)
        if problem:
            self._error(422, problem)
            return
        if self.owner.behaviour.get(request["artifact"]["repository"]) == "scan-500":
            self._error(500, "enqueuing scan job: the vulnerability database is being updated")
            return
        scan = Scan(uuid.uuid4().hex, request)
        self.owner.scans[scan.id] = scan
        threading.Thread(target=self.owner.run, args=(scan,), daemon=True).start()
        self._json(
            202, {"id": scan.id}, "application/vnd.scanner.adapter.scan.response+json; version=1.0"
        )

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == self.owner.auth:
            return True
        self._error(401, "invalid or missing adapter credentials")
        return False

    def _metadata(self) -> None:
        if "application/vnd.scanner.adapter.metadata+json" not in (
            self.headers.get("Accept") or ""
        ):
            self._error(400, "the metadata is only served as a metadata document")
            return
        body = {
            "scanner": {"name": "TestScanner", "vendor": "Dockyard tests", "version": "1.2.3"},
            "capabilities": [
                {
                    "type": "vulnerability",
                    "consumes_mime_types": list(MANIFEST_TYPES),
                    "produces_mime_types": [REPORT_TYPE],
                },
                {
                    "type": "sbom",
                    "consumes_mime_types": list(MANIFEST_TYPES),
                    "produces_mime_types": [
                        "application/vnd.security.sbom.report+json; version=1.0"
                    ],
                    "additional_attributes": {"sbom_media_types": ["application/spdx+json"]},
                },
            ],
            "properties": {"harbor.scanner-adapter/scanner-type": "os-package-vulnerability"},
        }
        self._json(200, body, "application/vnd.scanner.adapter.metadata+json; version=1.1")

    def _report(self, scan_id: str) -> None:
        scan = self.owner.scans.get(scan_id)
        if scan is None:
            self._error(404, f"cannot find scan job: {scan_id}")
            return
        if self.headers.get("Accept") != REPORT_TYPE:
            self._error(400, f"unsupported report type {self.headers.get('Accept')!r}")
            return
        behaviour = self.owner.behaviour.get(scan.request["artifact"]["repository"])
        if behaviour == "hang":
            time.sleep(30)  # longer than any scanner_timeout_seconds the tests use
            return
        pending = sum(1 for _, status in scan.polls if status == 302)
        if behaviour == "pending" or not scan.done.is_set() or pending < self.owner.pending_polls:
            scan.polls.append((time.monotonic(), 302))
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Refresh-After", str(self.owner.refresh_after))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if scan.error is not None:
            scan.polls.append((time.monotonic(), 500))
            self._error(500, scan.error)
            return
        scan.polls.append((time.monotonic(), 200))
        self._json(200, scan.report, REPORT_TYPE)

    def _error(self, status: int, message: str) -> None:
        self.owner.refused.append((self.path, status, message))
        self._json(status, {"error": {"message": message}}, ERROR_TYPE)

    def _json(self, status: int, body: Any, content_type: str) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def scan_request_problem(request: Any) -> str | None:
    """What is wrong with a ScanRequest body (the spec's 422 cases), or None."""
    if not isinstance(request, dict):
        return "the scan request is not an object"
    registry, artifact = request.get("registry"), request.get("artifact")
    if not isinstance(registry, dict) or not isinstance(artifact, dict):
        return "missing registry or artifact"
    url = urlsplit(str(registry.get("url") or ""))
    if url.scheme not in ("http", "https") or not url.netloc or url.path not in ("", "/"):
        return f"invalid registry.url {registry.get('url')!r}"
    if "authorization" in registry and not str(registry["authorization"]).startswith(
        ("Basic ", "Bearer ")
    ):
        return "registry.authorization must be a Basic or Bearer value"
    if not artifact.get("repository"):
        return "missing artifact.repository"
    if not DIGEST.match(str(artifact.get("digest") or "")):
        return f"invalid artifact.digest {artifact.get('digest')!r}"
    if artifact.get("mime_type") not in MANIFEST_TYPES:
        return f"unsupported artifact.mime_type {artifact.get('mime_type')!r}"
    for capability in request.get("enabled_capabilities") or []:
        if capability.get("type") not in ("vulnerability", "sbom"):
            return "invalid scan type"
        if not capability.get("produces_mime_types"):
            return '"enabled_capabilities.produces_mime_types" is missing'
    return None
