"""Clients that stop sending half-way, over real sockets against the live server.

A body shorter than its Content-Length must get a 400-class answer (never a 5xx), leave
no blob behind, and leave an upload session where it was, so the client can resume.
Clients that vanish mid-upload or mid-download must not put a traceback in the server
log (the autouse ``no_server_traceback`` fixture checks every test here).

These pin Dockyard's own decisions (docs/architecture.md, "Upload sessions"), so they
fail against Distribution by design: it answers 202 to a chunk whose Content-Range it
cannot honour, ends a session on any error, and has no one-request ``POST ?digest=``.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.integration.clients import absolute, new_http, sha256_digest, with_query

pytestmark = pytest.mark.integration

CHUNK = 64 * 1024


def request_head(method: str, target: str, host: str, **headers: str) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def half_close(server: Any, head: bytes, body: bytes) -> tuple[int, bytes]:
    """Send ``head`` and ``body``, stop sending (FIN), read the answer: (status, raw)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1]), answer


def vanish(server: Any, head: bytes, body: bytes, read: int = 0) -> None:
    """Send, optionally read a little, then reset the connection (RST, no goodbye)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(head + body)
    if read:
        sock.recv(read)
    time.sleep(0.2)  # let the server be in the middle of it
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def target(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def start(http: Any, server: Any, repo: str) -> str:
    resp = http.post(f"/v2/{repo}/blobs/uploads/")
    assert resp.status_code == 202, resp.text
    return absolute(server.url, resp.headers["Location"])


def session_range(http: Any, location: str) -> str:
    resp = http.get(location)
    assert resp.status_code == 204, resp.text
    return resp.headers["Range"]


def assert_client_error(status: int, raw: bytes) -> None:
    assert 400 <= status < 500, raw[:500]


def test_patch_cut_short_keeps_the_session(live_server: Any, repo: str) -> None:
    data = os.urandom(3 * CHUNK)
    with new_http(live_server.url) as http:
        location = start(http, live_server, repo)
        resp = http.patch(
            location, content=data[:CHUNK], headers={"Content-Range": f"0-{CHUNK - 1}"}
        )
        assert resp.status_code == 202, resp.text
        location = absolute(live_server.url, resp.headers["Location"])

        head = request_head(
            "PATCH",
            target(location),
            live_server.host,
            Content_Type="application/octet-stream",
            Content_Length=str(CHUNK),
            Content_Range=f"{CHUNK}-{2 * CHUNK - 1}",
        )
        status, raw = half_close(live_server, head, data[CHUNK : CHUNK + 1000])
        assert status == 400 and b"SIZE_INVALID" in raw, raw
        assert session_range(http, location) == f"0-{CHUNK - 1}"

        offset = int(session_range(http, location).split("-")[1]) + 1
        rest = {"Content-Range": f"{offset}-{len(data) - 1}"}
        resp = http.patch(location, content=data[offset:], headers=rest)
        assert resp.status_code == 202, resp.text
        location = absolute(live_server.url, resp.headers["Location"])
        resp = http.put(with_query(location, digest=sha256_digest(data)))
        assert resp.status_code == 201, resp.text
        pulled = http.get(f"/v2/{repo}/blobs/{sha256_digest(data)}", follow_redirects=True)
        assert pulled.content == data


def test_closing_put_cut_short_commits_nothing(live_server: Any, repo: str) -> None:
    data = os.urandom(2 * CHUNK)
    digest = sha256_digest(data)
    with new_http(live_server.url) as http:
        location = start(http, live_server, repo)
        url = with_query(location, digest=digest)
        head = request_head(
            "PUT",
            target(url),
            live_server.host,
            Content_Type="application/octet-stream",
            Content_Length=str(len(data)),
        )
        status, raw = half_close(live_server, head, data[:CHUNK])
        assert_client_error(status, raw)
        assert http.head(f"/v2/{repo}/blobs/{digest}").status_code == 404
        assert session_range(http, location) == "0-0"
        resp = http.put(url, content=data)
        assert resp.status_code == 201, resp.text


def test_monolithic_post_cut_short_commits_nothing(live_server: Any, repo: str) -> None:
    data = os.urandom(CHUNK)
    digest = sha256_digest(data)
    with new_http(live_server.url) as http:
        head = request_head(
            "POST",
            f"/v2/{repo}/blobs/uploads/?digest={digest}",
            live_server.host,
            Content_Type="application/octet-stream",
            Content_Length=str(len(data)),
        )
        status, raw = half_close(live_server, head, data[:100])
        assert_client_error(status, raw)
        assert http.head(f"/v2/{repo}/blobs/{digest}").status_code == 404


def test_chunked_body_cut_mid_chunk(live_server: Any, repo: str) -> None:
    with new_http(live_server.url) as http:
        location = start(http, live_server, repo)
        head = request_head(
            "PATCH",
            target(location),
            live_server.host,
            Content_Type="application/octet-stream",
            Transfer_Encoding="chunked",
        )
        status, raw = half_close(live_server, head, b"10000\r\n" + b"x" * 1000)
        assert_client_error(status, raw)
        assert session_range(http, location) == "0-0"


def test_clients_that_vanish_leave_no_trace(live_server: Any, repo: str) -> None:
    data = os.urandom(8 * 1024 * 1024)
    digest = sha256_digest(data)
    with new_http(live_server.url) as http:
        resp = http.post(f"/v2/{repo}/blobs/uploads/?digest={digest}", content=data)
        assert resp.status_code == 201, resp.text
        location = start(http, live_server, repo)

        upload = request_head("PATCH", target(location), live_server.host, Content_Length="100000")
        vanish(live_server, upload, b"x" * 5000)
        blob = f"/v2/{repo}/blobs/{digest}"
        vanish(live_server, request_head("GET", blob, live_server.host), b"", read=1000)
        ranged = request_head("GET", blob, live_server.host, Range="bytes=10-")
        vanish(live_server, ranged, b"", read=1000)
        whole = request_head("GET", blob, live_server.host, Range="items=10-")
        vanish(live_server, whole, b"", read=1000)

        deadline = time.monotonic() + 10
        while session_range(http, location) != "0-0":  # the reset may land a moment later
            assert time.monotonic() < deadline, "the partial chunk stayed in the session"
            time.sleep(0.1)
        assert http.get(blob).content == data


def exchange(server: Any, head: bytes, body: bytes) -> tuple[int, bytes]:
    """Send a whole request on its own connection and read the answer: (status, raw)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1]), answer


HOSTILE_UPLOAD_HEADERS: list[dict[str, str]] = [
    {"Content_Length": "-1"},
    {"Content_Length": "abc"},
    {"Content_Length": "1e3"},
    {"Content_Length": "\xb2"},
    {"Content_Length": "9" * 40},
    {"Content_Length": "3", "Content_Range": "-5-10"},
    {"Content_Length": "3", "Content_Range": "5-1"},
    {"Content_Length": "3", "Content_Range": "0-" + "9" * 5000},
    {"Content_Length": "3", "Content_Range": "x-y"},
    {"Content_Length": "3", "Content_Range": "0-9"},
    {"Content_Length": "3", "Content_Range": "0-2,3-5"},
    {"Transfer_Encoding": "chunked", "Content_Range": "1-3"},
]
HOSTILE_DIGESTS = [
    "sha256:" + "a" * 63,
    "SHA256:" + "a" * 64,
    "sha256:" + "A" * 64,
    "md5:x",
    "x" * 3000,
]


def test_hostile_upload_requests_get_4xx(live_server: Any, repo: str) -> None:
    """Lying lengths, ranges and digests on the wire: every answer a 4xx, nothing stored."""
    failures = []
    with new_http(live_server.url) as http:
        for headers in HOSTILE_UPLOAD_HEADERS:
            body = b"3\r\nabc\r\n0\r\n\r\n" if "Transfer_Encoding" in headers else b"abc"
            location = start(http, live_server, repo)
            head = request_head("PATCH", target(location), live_server.host, **headers)
            status, raw = exchange(live_server, head, body)
            if not 400 <= status < 500:
                failures.append(f"PATCH {headers} -> {raw[:300]!r}")
            elif session_range(http, location) != "0-0":
                failures.append(f"PATCH {headers} moved the session")
        for digest in HOSTILE_DIGESTS:
            url = f"/v2/{repo}/blobs/uploads/?digest={digest}"
            head = request_head("POST", url, live_server.host, Content_Length="3")
            status, raw = exchange(live_server, head, b"abc")
            if not 400 <= status < 500:
                failures.append(f"POST digest={digest[:80]} -> {raw[:300]!r}")
    assert failures == []
