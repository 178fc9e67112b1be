"""Pages answer people in HTML: unknown addresses get the UI's 404 page (signed in or
not), /favicon.ico an icon, /login the sign-in page, and a fault a 500 page with the
request id to quote, never the registry's JSON or a stack trace."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.http.app import create_app
from dockyard.http.ui.project_views import ProjectViews
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.ui.test_pages import signed_in


def test_unknown_pages_are_the_uis_404_for_visitors_and_members(registry: AuthRegistry) -> None:
    visitor = TestClient(registry.client.app)
    member = signed_in(registry, "admin", ADMIN_PASSWORD)
    for client in (visitor, member):
        for path in ("/no/such/page", "/-/nothing", "/p"):
            page = client.get(path, follow_redirects=False)
            assert page.status_code == 404, path
            assert page.headers["content-type"].startswith("text/html")
            assert "<h1>Not found</h1>" in page.text
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert visitor.get("/v2/no/such/manifests/x").json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert member.get("/api/v1/nothing").json()["error"]["code"] == "not_found"


def test_favicon_and_the_login_alias(registry: AuthRegistry) -> None:
    client = TestClient(registry.client.app)
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")
    alias = client.get("/login?next=/p/acme/app", follow_redirects=False)
    assert alias.status_code == 303
    assert alias.headers["location"] == "/-/login?next=/p/acme/app"
    assert 'rel="icon"' in client.get("/-/login").text


def test_a_fault_in_a_page_is_an_html_500_with_the_request_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    async def broken(self, request, viewer):  # noqa: ANN001, ANN202
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(ProjectViews, "home", broken)
    settings = Settings(data_dir=tmp_path, auth="none")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        page = client.get("/", headers={"X-Request-Id": "req-test-500"})
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in page.text and "req-test-500" in page.text
    assert "secret internal detail" not in page.text and "Traceback" not in page.text
