"""An in-process app served over real HTTP on 127.0.0.1, for a browser to drive.

Tests that seed the database and run the job worker themselves (so a scan happens exactly
when the test drains the queue, never behind its back) need the app in their own process;
a browser needs a socket. This serves one with the standard library's threaded HTTP
server, handing each request to the ASGI app through Starlette's test transport. Each
request gets a fresh client, so the browser's cookies are the only ones sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from starlette.testclient import TestClient

# Hop-by-hop headers, and those the transport recomputes for the decoded body.
DROPPED = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in DROPPED]
        client = TestClient(
            self.server.app, base_url=f"http://{self.headers.get('host', 'testserver')}"
        )
        try:
            resp = client.request(
                self.command, self.path, headers=headers, content=body, follow_redirects=False
            )
        except Exception as error:  # reported by the fixture, not lost in a thread
            self.server.errors.append(error)
            self.send_error(500, "the app raised; see the test's failure")
            return
        self.send_response(resp.status_code)
        for key, value in resp.headers.multi_items():
            if key.lower() not in DROPPED:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(resp.content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Quiet: the app's own request log already says what happened."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: Any) -> None:  # noqa: ANN401 - any ASGI app
        super().__init__(("127.0.0.1", 0), _Forward)
        self.app = app
        self.errors: list[BaseException] = []


@contextmanager
def serve(app: Any) -> Iterator[tuple[str, list[BaseException]]]:  # noqa: ANN401
    """(base URL, errors the app raised) while the block runs."""
    server = _Server(app)
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.errors
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
