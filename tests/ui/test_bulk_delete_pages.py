"""Deleting every tag that matches a filter from the UI without JavaScript: the filter
travels, not a list of names (1,200 tags would be more form fields than a form may
hold), a tag pushed after the confirmation is kept, and the listing comes back as it
was shown (filter and sort). Signing in returns to the page with its query."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from starlette.testclient import TestClient

from dockyard.admin.tag_deletes import IN_REQUEST
from dockyard.db.models import Job, Manifest
from dockyard.db.queries import jobs, repositories, tags
from tests.api.helpers import push_image
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.ui.scanned import drain
from tests.ui.test_pages import csrf_of, signed_in

MATCHING = 1200


def tag_all(registry: AuthRegistry, repository: str, digest: str, names: list[str]) -> None:
    """Point many tags at a pushed manifest in one transaction (pushing each through /v2
    would only make the test slow)."""
    with registry.db.session(write=True) as conn:
        repository_id = repositories.find_id(conn, repository)
        manifest_id = conn.scalar(
            select(Manifest.id).where(
                Manifest.repository_id == repository_id, Manifest.digest == digest
            )
        )
        for name in names:
            tags.point(conn, repository_id, name, manifest_id)


def hidden_fields(html: str) -> list[tuple[str, str]]:
    form = html[html.index('action="/r/') :]
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)


def test_all_matching_sends_the_filter_and_keeps_later_pushes(registry: AuthRegistry) -> None:
    project = registry.new_project("private")
    repository = f"{project}/app"
    image = push_image(registry, repository, "keep-1", layers=[b"one layer"])
    tag_all(registry, repository, image.digest, [f"rc-{n}" for n in range(MATCHING)])
    browser = signed_in(registry, "admin", ADMIN_PASSWORD)
    page = browser.get(f"/r/{repository}?name=rc-&sort=name&per_page=50")
    form = {"csrf": csrf_of(page.text), "all_matching": "1", "name": "rc-", "sort": "name",
            "per_page": "50"}  # fmt: skip

    confirm = browser.post(f"/r/{repository}/-/delete-tags", data=form)
    assert confirm.status_code == 200
    assert f"Delete {MATCHING} tags from {repository}?" in confirm.text
    fields = hidden_fields(confirm.text)
    assert len(fields) < 10 and ("all_matching", "1") in fields  # no list of 1,200 names

    tag_all(registry, repository, image.digest, ["rc-late"])  # pushed after the confirmation
    done = browser.post(f"/r/{repository}/-/delete-tags", data=dict(fields), follow_redirects=False)
    assert done.status_code == 303
    where = urlsplit(done.headers["location"])
    assert where.path == f"/r/{repository}"
    assert parse_qs(where.query) == {"name": ["rc-"], "sort": ["name"], "per_page": ["50"]}
    listing = browser.get(done.headers["location"])  # too many to wait for: a job
    assert "deleting 1,200 tags: progress below" in listing.text
    assert 'id="delete-job"' in listing.text and "Queued" in listing.text
    progress = browser.get(f"/r/{repository}/-/delete-tags/progress").json()
    assert progress == {"state": "queued", "done": 0, "total": None}
    again = browser.post(f"/r/{repository}/-/delete-tags", data=dict(fields))
    assert "another delete is still running here" in again.text

    drain(registry)
    assert browser.get(f"/r/{repository}/-/delete-tags/progress").json() == {"state": "finished"}
    with registry.db.session() as conn:
        newest = select(Job.id).where(Job.kind == "tag_delete").order_by(Job.id.desc())
        job = jobs.get(conn, conn.scalar(newest))
    assert (job.state, job.progress_done, job.progress_total) == ("done", MATCHING, MATCHING)
    listing = browser.get(done.headers["location"])
    assert 'id="delete-job"' not in listing.text
    assert 'data-tag="rc-late"' in listing.text and 'data-tag="rc-1"' not in listing.text
    assert 'data-tag="keep-1"' in browser.get(f"/r/{repository}").text


def test_up_to_a_thousand_matching_tags_go_at_once(registry: AuthRegistry) -> None:
    project = registry.new_project("private")
    repository = f"{project}/app"
    image = push_image(registry, repository, "keep-1", layers=[b"one layer"])
    tag_all(registry, repository, image.digest, [f"rc-{n}" for n in range(IN_REQUEST)])
    browser = signed_in(registry, "admin", ADMIN_PASSWORD)
    page = browser.get(f"/r/{repository}?name=rc-")
    form = {"csrf": csrf_of(page.text), "all_matching": "1", "name": "rc-"}
    fields = hidden_fields(browser.post(f"/r/{repository}/-/delete-tags", data=form).text)
    listing = browser.post(f"/r/{repository}/-/delete-tags", data=dict(fields))
    assert f"deleted {IN_REQUEST} tag(s)" in listing.text
    assert 'id="delete-job"' not in listing.text
    assert 'data-tag="keep-1"' in browser.get(f"/r/{repository}").text


def test_signing_in_returns_to_the_page_with_its_query(registry: AuthRegistry) -> None:
    visitor = TestClient(registry.client.app)
    away = visitor.get("/-/settings/tokens?name=rc&sort=-name", follow_redirects=False)
    assert away.status_code == 303
    login = visitor.get(away.headers["location"])
    assert 'name="next" value="/-/settings/tokens?name=rc&amp;sort=-name"' in login.text
