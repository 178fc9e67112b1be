"""Numbers typed into the UI: ASCII digits in a bounded range, or a clear refusal; never a 500.

Each case here answered 500 with a stack trace before numbers were checked in one place
(dockyard/validation.py)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.api.helpers import push_image
from tests.support.auth_registry import AuthRegistry
from tests.ui.test_pages import csrf_of, signed_in


@pytest.fixture
def owner(registry: AuthRegistry) -> tuple[TestClient, str, str]:
    project = registry.new_project("private")
    push_image(registry, f"{project}/app", "v1", layers=[b"numbers"])
    user = registry.new_user({project: "owner"})
    client = TestClient(registry.client.app, raise_server_exceptions=False)
    client.cookies = signed_in(registry, user.name, user.password).cookies
    token = csrf_of(client.get("/-/settings/tokens").text)
    return client, project, token


@pytest.mark.parametrize("days", ["99999999", "²", "٣", "-5", "1e3", "9" * 5000, "3651"])
def test_token_expiry_days_are_checked(owner, days: str) -> None:  # noqa: ANN001
    client, _, token = owner
    resp = client.post(
        "/-/settings/tokens",
        data={"csrf": token, "name": "t", "read_registry": "on", "expires_in_days": days},
    )
    assert resp.status_code == 200, resp.text[:300]
    assert "expires_in_days must be a whole number from 0 to 3650" in resp.text
    assert 'id="new-token"' not in resp.text


def test_token_expiry_in_range_is_kept(owner) -> None:  # noqa: ANN001
    client, _, token = owner
    resp = client.post(
        "/-/settings/tokens",
        data={"csrf": token, "name": "t", "read_registry": "on", "expires_in_days": " 30 "},
    )
    assert resp.status_code == 200 and 'id="new-token"' in resp.text


@pytest.mark.parametrize("token_id", ["abc", "9" * 5000, "²", "-1", ""])
def test_token_revoke_ids_are_checked(owner, token_id: str) -> None:  # noqa: ANN001
    client, project, token = owner
    mine = client.post("/-/settings/tokens/revoke", data={"csrf": token, "token_id": token_id})
    assert mine.status_code == 200, mine.text[:300]
    assert "token_id must be a whole number" in mine.text
    deploy = client.post(
        f"/p/{project}/-/settings",
        data={"csrf": token, "action": "revoke_token", "token_id": token_id},
    )
    assert deploy.status_code == 200, deploy.text[:300]
    assert "token_id must be a whole number" in deploy.text


@pytest.mark.parametrize("page", ["%C2%B2", "99999999999999999999999", "-3", "x"])
def test_repository_page_numbers_are_checked(owner, page: str) -> None:  # noqa: ANN001
    client, project, _ = owner
    resp = client.get(f"/r/{project}/app?page={page}")
    assert resp.status_code == 400, resp.text[:300]
    assert "page must be a whole number from 1 to 100000" in resp.text


def test_repository_page_in_range(owner) -> None:  # noqa: ANN001
    client, project, _ = owner
    assert client.get(f"/r/{project}/app?page=2").status_code == 200


@pytest.mark.parametrize("path", ["/-/settings/tokens", "/-/login", "/-/logout"])
def test_too_many_form_fields_is_a_clear_413(owner, path: str) -> None:  # noqa: ANN001
    client, _, token = owner
    fields = [("csrf", token)] + [(f"f{i}", "1") for i in range(1200)]
    resp = client.post(path, data=dict(fields))
    assert resp.status_code == 413, resp.text[:300]
    assert resp.headers["content-type"].startswith("text/plain")
    assert "too many form fields" in resp.text and "1000" in resp.text
    assert "NAME_UNKNOWN" not in resp.text


def test_files_where_text_is_expected_are_refused(owner) -> None:  # noqa: ANN001
    client, project, token = owner
    resp = client.post(
        f"/r/{project}/app/-/delete-tags",
        data={"csrf": token, "confirmed": "1"},
        files={"tags": ("v1", b"v1", "text/plain")},
    )
    assert resp.status_code == 400 and "takes no file" in resp.text


@pytest.mark.parametrize("name", ["x" * 300, "a\x00b"])
def test_token_names_are_checked(owner, name: str) -> None:  # noqa: ANN001
    client, project, token = owner
    mine = client.post("/-/settings/tokens", data={"csrf": token, "name": name, "api": "on"})
    assert (
        mine.status_code == 200
        and "name has 1 to 100 characters" in mine.text
        or ("name may not contain control characters" in mine.text)
    )
    deploy = client.post(
        f"/p/{project}/-/settings",
        data={"csrf": token, "action": "create_deploy_token", "name": name, "read_registry": "on"},
    )
    assert deploy.status_code == 200
    assert "name has 1 to 100 characters" in deploy.text or "control characters" in deploy.text
