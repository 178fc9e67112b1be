"""A client of a Harbor-compatible scanner adapter: findings from Trivy, Clair & co.

One scan is four steps against ``<scanner_url>/api/v1``: read the metadata (does it
scan this manifest type, which report can it write?), POST the scan request (where to
pull the image from, with a pull token), poll the report (``302`` with
``Refresh-After`` while it works) until it is ready or the time is up, then map the
report to findings (``harbor``). Whatever goes wrong (adapter down, refusal, a failed
scan, a timeout, a malformed answer) is one ``ExternalScanFailed`` whose reason is
shown to users; no other exception leaves ``findings``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from dockyard.scan import harbor
from dockyard.scan.harbor import ReportError, ScanTarget
from dockyard.scan.model import Finding, Inventory
from dockyard.scan.walker import ScanFailed

if TYPE_CHECKING:
    import httpx

__all__ = ["ExternalScanFailed", "ExternalScanner", "ScanTarget"]

log = logging.getLogger("dockyard.scan.external")
DEFAULT_REFRESH_SECONDS = 3.0  # when a 302 carries no usable Refresh-After
MIN_REFRESH_SECONDS = 0.2  # never poll in a tight loop, whatever the adapter says
MAX_BODY_BYTES = 64 * 1024 * 1024  # a report of tens of thousands of findings fits


class ExternalScanFailed(ScanFailed):
    """The adapter could not give a report; ``reason`` says why, for users."""


class ExternalScanner:
    """Asks the adapter at ``url`` for the findings of one image at a time.

    ``authorization(repository)`` gives the Authorization header value the adapter
    pulls with (a short-lived pull token), or None for an open registry; ``auth`` is
    the header value Dockyard itself sends to the adapter.
    """

    def __init__(
        self,
        url: str,
        *,
        registry_url: str,
        authorization: Callable[[str], str | None],
        auth: str = "",
        timeout_seconds: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url.rstrip("/")
        self.registry_url = registry_url.rstrip("/")
        self.authorization = authorization
        self.auth = auth
        self.timeout = timeout_seconds
        self._transport = transport
        self._sleep = sleep
        self._clock = clock

    def findings(self, target: ScanTarget, inventory: Inventory) -> list[Finding]:
        """The adapter's findings on ``target``, or ExternalScanFailed."""
        import httpx  # here: only an external scanner needs it (a big import)

        deadline = self._clock() + self.timeout
        try:
            with self._client() as http:
                metadata = self._json(http, "GET", "/metadata", deadline, 200, accept=_METADATA)
                report_type = harbor.report_type(metadata, target.media_type)
                body = harbor.scan_request(
                    target, self.registry_url, self.authorization(target.repository), report_type
                )
                scan_id = harbor.scan_id(
                    self._json(http, "POST", "/scan", deadline, 202, body=body)
                )
                report = self._report(http, scan_id, report_type, deadline)
                found = harbor.findings(report, target, inventory)
        except httpx.TimeoutException:
            raise self._failed(f"did not answer within {self.timeout:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise self._failed(f"could not be reached: {_describe(error)}") from None
        except ReportError as error:
            raise self._failed(f"gave an unusable answer: {error}") from None
        log.info(
            "%s: %d findings from %s", target.digest, len(found), harbor.scanner_name(metadata)
        )
        return found

    def _client(self) -> httpx.Client:
        import httpx

        headers = {"Authorization": self.auth} if self.auth else {}
        return httpx.Client(
            base_url=self.url + "/api/v1",
            headers=headers,
            follow_redirects=False,  # a 302 means "not ready yet", not "look elsewhere"
            transport=self._transport,
        )

    def _report(self, http: httpx.Client, scan_id: str, report_type: str, deadline: float) -> Any:
        """Poll until the report is ready, honouring Refresh-After, or the time is up."""
        path = f"/scan/{quote(scan_id, safe='')}/report"
        while True:
            answer = self._send(http, "GET", path, deadline, accept=report_type)
            if answer.status != 302:
                return self._parse(answer, "GET " + path, 200)
            left = deadline - self._clock()
            if left <= 0:
                raise self._failed(
                    f"gave no report within {self.timeout:g} s (scan {scan_id[:100]} still running)"
                )
            self._sleep(min(_refresh_after(answer.headers.get("refresh-after")), left))

    def _json(
        self,
        http: httpx.Client,
        method: str,
        path: str,
        deadline: float,
        expected: int,
        *,
        accept: str = harbor.SCAN_RESPONSE,
        body: dict[str, Any] | None = None,
    ) -> Any:
        answer = self._send(http, method, path, deadline, accept=accept, body=body)
        return self._parse(answer, f"{method} {path}", expected)

    def _send(
        self,
        http: httpx.Client,
        method: str,
        path: str,
        deadline: float,
        *,
        accept: str,
        body: dict[str, Any] | None = None,
    ) -> _Answer:
        """One request, read up to MAX_BODY_BYTES, within what is left of the deadline
        (at least a second, so the last poll can still be answered)."""
        import httpx

        left = max(deadline - self._clock(), 1.0)
        headers = {"Accept": accept}
        content = None
        if body is not None:
            headers["Content-Type"] = harbor.SCAN_REQUEST
            content = json.dumps(body).encode()
        request = http.build_request(
            method, path, headers=headers, content=content, timeout=httpx.Timeout(left)
        )
        response = http.send(request, stream=True)
        try:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise ReportError(f"{method} {path} answered more than {MAX_BODY_BYTES} bytes")
                chunks.append(chunk)
        finally:
            response.close()
        body = b"".join(chunks)
        return _Answer(response.status_code, response.reason_phrase, response.headers, body)

    def _parse(self, answer: _Answer, what: str, expected: int) -> Any:
        if answer.status != expected and not (expected == 202 and answer.status in (200, 201)):
            raise self._failed(_refusal(answer, what))
        try:
            return json.loads(answer.body)
        except ValueError:
            raise ReportError(f"{what} answered {answer.status} with no JSON body") from None

    def _failed(self, what: str) -> ExternalScanFailed:
        return ExternalScanFailed(f"the scanner adapter at {self.url} {what}")


_METADATA = f"{harbor.METADATA}; version=1.1, {harbor.METADATA}; version=1.0"


@dataclass(frozen=True)
class _Answer:
    """A response read in full (and bounded) before the connection is given back."""

    status: int
    reason: str
    headers: httpx.Headers
    body: bytes


def _refusal(answer: _Answer, what: str) -> str:
    """What a non-success answer means, in the adapter's own words where it gave some."""
    try:
        message = harbor.error_message(json.loads(answer.body))
    except ValueError:
        message = None
    text = answer.body.decode("utf-8", "replace").strip()[:300]
    detail = message or text or answer.reason
    status = answer.status
    if status in (401, 403):
        return f"refused Dockyard's credentials (scanner_auth) on {what}: {status} {detail}"
    if status == 404 and "/report" in what:
        return f"no longer knows the scan ({what}: 404 {detail})"
    if status >= 500 and "/report" in what:
        return f"failed the scan: {status} {detail}"
    return f"answered {status} to {what}: {detail}"


def _refresh_after(value: str | None) -> float:
    """Seconds to wait from a Refresh-After header (an integer by the spec)."""
    try:
        seconds = float(value) if value is not None else DEFAULT_REFRESH_SECONDS
    except ValueError:
        seconds = DEFAULT_REFRESH_SECONDS
    if seconds != seconds:  # NaN
        seconds = DEFAULT_REFRESH_SECONDS
    return max(seconds, MIN_REFRESH_SECONDS)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:300] if str(error) else type(error).__name__
