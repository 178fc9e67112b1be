"""Operations, in process: request ids, one log line per request with no secrets in it,
5xx bodies that name the request id, metrics by route template, health and readiness."""

from __future__ import annotations

import io
import json
import logging
import secrets
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from prometheus_client import generate_latest
from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.http import metrics
from dockyard.http.app import create_app
from dockyard.http.logformat import configure_logging
from tests.conftest import PG_ADMIN_URL
from tests.http.oci_helpers import blob_url, push_blob
from tests.support.auth_registry import AuthRegistry
from tests.ui.test_pages import csrf_of, signed_in


@pytest.fixture
def capture_log() -> Iterator[Callable[[str], io.StringIO]]:
    """Route the ``dockyard`` loggers into a buffer in the given format; restore after."""
    root = logging.getLogger("dockyard")
    saved = (list(root.handlers), root.level, root.propagate)

    def start(log_format: str = "text") -> io.StringIO:
        buffer = io.StringIO()
        configure_logging(Settings(log_format=log_format, log_level="debug"), buffer)
        return buffer

    yield start
    root.handlers[:], root.level, root.propagate = saved


def access_lines(buffer: io.StringIO) -> list[str]:
    return [line for line in buffer.getvalue().splitlines() if " dockyard.access " in line]


# --- request ids -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v2/", "/jwt/auth", "/api/v1/projects", "/", "/-/health"])
def test_every_response_carries_a_request_id(registry: AuthRegistry, path: str) -> None:
    resp = registry.client.get(path, follow_redirects=False)
    generated = resp.headers["x-request-id"]
    assert len(generated) == 32
    given = registry.client.get(
        path, headers={"X-Request-Id": "lb-7f3a.91"}, follow_redirects=False
    )
    assert given.headers["x-request-id"] == "lb-7f3a.91"


@pytest.mark.parametrize("bad", ["a" * 129, "two words", "new\nline", "<script>", ""])
def test_an_unsafe_request_id_is_replaced(registry: AuthRegistry, bad: str) -> None:
    resp = registry.client.get("/v2/", headers={"X-Request-Id": bad.encode()})
    assert resp.headers["x-request-id"] != bad
    assert len(resp.headers["x-request-id"]) == 32


# --- the access log ---------------------------------------------------------------------


def test_one_text_line_per_request_with_who_and_why(
    registry: AuthRegistry, capture_log: Callable[[str], io.StringIO]
) -> None:
    log = capture_log("text")
    user = registry.new_user()
    token = registry.token(user.name, user.password)
    registry.client.get("/v2/", headers={**registry.bearer(token), "X-Request-Id": "rq-ok"})
    registry.client.get("/v2/", headers={"X-Request-Id": "rq-anon"})
    registry.client.get(
        "/api/v1/user", headers={"PRIVATE-TOKEN": user.pat, "X-Request-Id": "rq-pat"}
    )
    lines = access_lines(log)
    ok = next(line for line in lines if "request_id=rq-ok" in line)
    for part in ("method=GET", "path=/v2/", "status=200", f"user={user.name}", "kind=password"):
        assert part in ok, ok
    assert "duration_ms=" in ok and "bytes=" in ok and "remote=testclient" in ok
    anon = next(line for line in lines if "request_id=rq-anon" in line)
    assert "status=401" in anon and "kind=anonymous" in anon
    assert 'reason="authentication required"' in anon
    pat = next(line for line in lines if "request_id=rq-pat" in line)
    assert f"user={user.name}" in pat and "kind=personal_token" in pat


def test_a_denial_names_its_reason(
    registry: AuthRegistry, capture_log: Callable[[str], io.StringIO]
) -> None:
    log = capture_log("text")
    user = registry.new_user()
    project = registry.new_project("private")
    resp = registry.client.post(
        f"/v2/{project}/app/blobs/uploads/",
        headers={**registry.basic(user.name, user.password), "X-Request-Id": "rq-denied"},
    )
    assert resp.status_code == 403
    line = next(line for line in access_lines(log) if "request_id=rq-denied" in line)
    assert "status=403" in line and f"user={user.name}" in line
    assert "reason=" in line and project in line


def test_json_lines(registry: AuthRegistry, capture_log: Callable[[str], io.StringIO]) -> None:
    log = capture_log("json")
    registry.client.get("/v2/", headers={"X-Request-Id": "rq-json"})
    entries = [json.loads(line) for line in log.getvalue().splitlines()]
    entry = next(e for e in entries if e.get("request_id") == "rq-json")
    assert entry["logger"] == "dockyard.access" and entry["level"] == "info"
    assert entry["method"] == "GET" and entry["path"] == "/v2/" and entry["status"] == 401
    assert entry["kind"] == "anonymous" and entry["reason"] == "authentication required"
    assert isinstance(entry["duration_ms"], float) and isinstance(entry["bytes"], int)


def test_a_crafted_path_cannot_forge_a_log_line(
    registry: AuthRegistry, capture_log: Callable[[str], io.StringIO]
) -> None:
    log = capture_log("text")
    registry.client.get("/v2/a%0A2026-01-01 INFO dockyard.access forged/tags/list")
    assert not any(line.startswith("2026-01-01") for line in log.getvalue().splitlines())


def test_secrets_never_reach_the_log(
    registry: AuthRegistry, capture_log: Callable[[str], io.StringIO]
) -> None:
    log = capture_log("text")
    user = registry.new_user()
    wrong = "wrong-" + secrets.token_hex(8)
    client = registry.client
    # real credentials, used the ways clients use them
    got = registry.token_response(user.name, user.password, offline_token="true").json()
    token, refresh = got["token"], got["refresh_token"]
    client.get("/v2/", headers=registry.bearer(token))
    client.get("/v2/", headers=registry.basic(user.name, user.password))
    client.get("/v2/", headers=registry.basic(user.name, wrong))
    client.get("/v2/", headers=registry.basic(user.name, user.pat))
    client.get("/api/v1/user", headers={"Authorization": f"Bearer {user.pat}"})
    client.get("/api/v1/user", headers={"PRIVATE-TOKEN": user.pat})
    client.post(
        "/jwt/auth",
        data={
            "grant_type": "password",
            "username": user.name,
            "password": user.password,
            "service": "dockyard",
            "access_type": "offline",
        },
    )
    client.post(
        "/jwt/auth",
        data={"grant_type": "refresh_token", "refresh_token": refresh, "service": "dockyard"},
    )
    client.post(
        "/jwt/auth",
        data={
            "grant_type": "password",
            "username": user.name,
            "password": wrong,
            "service": "dockyard",
        },
    )
    # query-string secrets, which some tools put in URLs
    for key, value in (("token", token), ("access_token", user.pat), ("password", user.password)):
        client.get(f"/v2/?{key}={value}")
        client.get(f"/api/v1/user?{key}={value}")
    browser = signed_in(registry, user.name, user.password)
    browser.get("/", headers={"X-Request-Id": "rq-ui"})
    page = browser.get("/-/login")
    browser.post(
        "/-/login",
        data={"username": user.name, "password": wrong, "csrf": csrf_of(page.text), "next": "/"},
    )
    text = log.getvalue()
    assert len(access_lines(log)) >= 15
    for secret in (user.password, wrong, user.pat, token, refresh, registry.admin_pat):
        assert secret not in text
    assert "authorization" not in text.lower()
    ui = next(line for line in access_lines(log) if "request_id=rq-ui" in line)
    assert f"user={user.name} kind=session" in ui


# --- errors -----------------------------------------------------------------------------


def test_a_5xx_names_the_request_id_and_only_the_log_has_the_trace(
    tmp_path: Path, capture_log: Callable[[str], io.StringIO]
) -> None:
    log = capture_log("text")
    settings = Settings(data_dir=tmp_path, auth="none")
    with TestClient(create_app(settings)) as client:
        # A real fault, not a mock: the repositories table vanishes under the running server.
        with sqlite3.connect(tmp_path / "dockyard.db") as conn:
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("DROP TABLE repositories")
        resp = client.get("/v2/some/repo/tags/list", headers={"X-Request-Id": "rq-boom"})
    assert resp.status_code == 500
    assert resp.headers["x-request-id"] == "rq-boom"
    error = resp.json()["errors"][0]
    assert "rq-boom" in error["message"] and error["detail"] == {"request_id": "rq-boom"}
    assert "Traceback" not in resp.text and "sqlite" not in resp.text.lower()
    text = log.getvalue()
    assert "Traceback" in text and "no such table" in text
    assert any("status=500" in line and "request_id=rq-boom" in line for line in access_lines(log))
    assert text.count("unhandled error") == 1  # logged once, by the request log


# --- metrics ----------------------------------------------------------------------------


def scrape(app: object, settings: Settings) -> dict[str, float]:
    db = Database(settings.effective_database_url)
    try:
        text = generate_latest(metrics.scrape_registry(db, settings)).decode()
    finally:
        db.dispose()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_count_by_route_template(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, auth="none")
    repo = f"metrics/r{secrets.token_hex(4)}"
    data = secrets.token_bytes(3000)
    with TestClient(create_app(settings)) as client:
        before = scrape(client.app, settings)
        digest = push_blob(client, repo, data)
        assert client.get(blob_url(repo, digest)).status_code == 200
        client.get(blob_url(repo, "sha256:" + "0" * 64))
        after = scrape(client.app, settings)

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    blob = 'route="/v2/{name}/blobs/{digest}"'
    assert delta(f'dockyard_http_requests_total{{method="GET",{blob},status="200"}}') == 1
    assert delta(f'dockyard_http_requests_total{{method="GET",{blob},status="404"}}') == 1
    upload = 'route="/v2/{name}/blobs/uploads/{upload_id}"'
    assert delta(f'dockyard_http_requests_total{{method="PUT",{upload},status="201"}}') == 1
    assert not any(repo in name for name in after)  # never the raw path
    assert delta(f'dockyard_http_request_duration_seconds_count{{method="GET",{blob}}}') == 2
    assert delta("dockyard_registry_bytes_pushed_total") >= len(data)
    assert delta("dockyard_registry_bytes_pulled_total") == len(data)
    assert after["dockyard_storage_used_bytes"] == len(data)
    assert after["dockyard_blobs_stored"] == 1
    assert after["dockyard_uploads_in_progress"] == 0
    assert after['dockyard_background_queue_depth{queue="repository_deletions"}'] == 0
    assert after['dockyard_background_queue_depth{queue="idle_upload_sessions"}'] == 0
    assert after["dockyard_db_pool_connections_max"] > 0
    assert after["dockyard_stats_up"] == 1


# --- health and readiness ----------------------------------------------------------------


def test_health_and_readiness(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, auth="token")
    with TestClient(create_app(settings)) as client:
        assert client.get("/-/health").json() == {"status": "ok"}
        ready = client.get("/-/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}
        # Storage made unusable: the uploads folder replaced by a file.
        uploads = tmp_path / "uploads"
        shutil.rmtree(uploads)
        uploads.write_text("not a folder")
        broken = client.get("/-/ready")
        assert broken.status_code == 503
        assert broken.json()["failed"] == ["storage"]
        assert broken.json()["checks"]["database"] == "ok"
        assert client.get("/-/health").status_code == 200


def test_readiness_fails_when_postgresql_is_gone(tmp_path: Path) -> None:
    name = f"dockyard_ready_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    settings = Settings(data_dir=tmp_path, database_url=url, auth="none")
    with TestClient(create_app(settings)) as client:
        assert client.get("/-/ready").status_code == 200
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        resp = client.get("/-/ready")
    assert resp.status_code == 503
    assert resp.json()["failed"] == ["database"]
    assert resp.json()["checks"] == {"database": "failed", "storage": "ok"}


# --- reverse proxies -----------------------------------------------------------------------

FORWARDED = {
    "X-Forwarded-For": "203.0.113.7, 10.0.0.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "registry.example.com",
    "X-Request-Id": "rq-proxy",
}


@pytest.mark.parametrize(
    ("peer", "public_url", "realm", "remote"),
    [
        ("10.0.0.5", "", "https://registry.example.com/jwt/auth", "203.0.113.7"),
        ("192.0.2.1", "", "http://testserver/jwt/auth", "192.0.2.1"),  # not a trusted proxy
        ("10.0.0.5", "https://cr.example.org", "https://cr.example.org/jwt/auth", "203.0.113.7"),
    ],
)
def test_forwarded_headers_only_from_trusted_proxies(
    tmp_path: Path,
    capture_log: Callable[[str], io.StringIO],
    peer: str,
    public_url: str,
    realm: str,
    remote: str,
) -> None:
    log = capture_log("text")
    settings = Settings(
        data_dir=tmp_path, auth="token", trusted_proxies="10.0.0.0/8, ::1", public_url=public_url
    )
    with TestClient(create_app(settings), client=(peer, 4000)) as client:
        resp = client.get("/v2/", headers=FORWARDED)
    assert f'realm="{realm}"' in resp.headers["www-authenticate"]
    line = next(line for line in access_lines(log) if "request_id=rq-proxy" in line)
    assert f"remote={remote} " in line


def test_a_typo_in_trusted_proxies_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="trusted_proxies: '10.0.0.300' is no IP or CIDR"):
        create_app(Settings(data_dir=tmp_path, auth="none", trusted_proxies="10.0.0.300"))


def test_a_rest_api_5xx_names_the_request_id_in_its_own_format(
    tmp_path: Path, capture_log: Callable[[str], io.StringIO]
) -> None:
    log = capture_log("text")
    with TestClient(create_app(Settings(data_dir=tmp_path, auth="none"))) as client:
        with sqlite3.connect(tmp_path / "dockyard.db") as conn:
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("DROP TABLE projects")
        resp = client.get("/api/v1/projects", headers={"X-Request-Id": "rq-api-boom"})
    assert resp.status_code == 500
    assert resp.json() == {
        "error": {
            "code": "internal",
            "message": "internal server error (request id rq-api-boom)",
            "request_id": "rq-api-boom",
        }
    }
    assert "Traceback" in log.getvalue()


def test_probes_log_quietly_unless_they_fail(
    tmp_path: Path, capture_log: Callable[[str], io.StringIO]
) -> None:
    log = capture_log("text")
    with TestClient(create_app(Settings(data_dir=tmp_path, auth="none"))) as client:
        client.get("/-/ready", headers={"X-Request-Id": "rq-probe-ok"})
        shutil.rmtree(tmp_path / "uploads")
        client.get("/-/ready", headers={"X-Request-Id": "rq-probe-bad"})
    lines = access_lines(log)
    assert " DEBUG " in next(line for line in lines if "rq-probe-ok" in line)
    assert " WARNING " in next(line for line in lines if "rq-probe-bad" in line)
