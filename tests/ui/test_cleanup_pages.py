"""The cleanup policy in the UI without JavaScript: the settings card, saving, the
preview page, the runs pages (the browser test with the live preview is in
tests/integration/test_cleanup_ui_browser.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from dockyard.admin import cleanup_service
from tests.api.helpers import push_image
from tests.support.auth_registry import AuthRegistry
from tests.support.cleanup import age_tags, run
from tests.ui.test_pages import csrf_of, signed_in

FORM = {
    "enabled": "on",
    "cadence": "7d",
    "keep_n": "1",
    "older_than": "30d",
    "name_regex": ".*",
    "name_regex_keep": "release-.*",
    "repository_regex": "",
}


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    project = registry.new_project("private")
    ages = {"v1": 100, "v2": 60, "v3": 1, "release-1": 100, "latest": 100}
    for tag in ages:
        push_image(registry, f"{project}/app", tag, layers=[tag.encode() + project.encode()])
    age_tags(registry, f"{project}/app", {t: timedelta(days=d) for t, d in ages.items()})
    return project


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-tag="([^"]+)"', html)


def test_the_settings_card_saves_the_policy(registry: AuthRegistry, project: str) -> None:
    maintainer = registry.new_user({project: "maintainer"})
    client = signed_in(registry, maintainer.name, maintainer.password)
    page = client.get(f"/p/{project}/-/settings")
    assert page.status_code == 200 and "Cleanup policy" in page.text
    assert "Not set up yet" in page.text and "/-/static/cleanup.js" in page.text
    saved = client.post(f"/p/{project}/-/cleanup", data={**FORM, "csrf": csrf_of(page.text)})
    assert saved.status_code == 200 and "cleanup policy saved" in saved.text
    assert "Enabled: runs every 7d" in saved.text
    assert 'value="release-.*"' in saved.text and 'value="1"' in saved.text
    bad = client.post(
        f"/p/{project}/-/cleanup",
        data={**FORM, "name_regex": "v(1", "csrf": csrf_of(saved.text)},
    )
    assert "cleanup policy not saved: name_regex is not a valid RE2 expression" in bad.text
    assert 'value="v(1"' not in bad.text  # the saved policy is shown, unchanged
    forged = client.post(f"/p/{project}/-/cleanup", data=FORM)
    assert forged.status_code == 403


def test_the_preview_page_works_without_javascript(registry: AuthRegistry, project: str) -> None:
    maintainer = registry.new_user({project: "maintainer"})
    client = signed_in(registry, maintainer.name, maintainer.password)
    token = csrf_of(client.get(f"/p/{project}/-/settings").text)
    page = client.post(f"/p/{project}/-/cleanup/preview", data={**FORM, "csrf": token})
    assert page.status_code == 200
    assert rows(page.text) == ["v2", "v1"]  # v3 is the newest kept; release-1 and latest stay
    assert "<strong>2</strong> tag(s) would be deleted now" in page.text
    assert 'value="release-.*"' in page.text  # the form as posted, to edit further
    wider = client.post(
        f"/p/{project}/-/cleanup/preview",
        data={**FORM, "keep_n": "", "older_than": "", "name_regex_keep": "", "csrf": token},
    )
    assert rows(wider.text) == ["v3", "v2", "v1", "release-1"]
    wrong = client.post(
        f"/p/{project}/-/cleanup/preview", data={**FORM, "keep_n": "0", "csrf": token}
    )
    assert wrong.status_code == 400 and "keep_n must be a whole number from 1 to" in wrong.text
    settings = client.get(f"/p/{project}/-/settings").text
    assert "Not set up yet" in settings  # previewing saved nothing


def test_run_history_pages(registry: AuthRegistry, project: str) -> None:
    maintainer = registry.new_user({project: "maintainer"})
    client = signed_in(registry, maintainer.name, maintainer.password)
    token = csrf_of(client.get(f"/p/{project}/-/settings").text)
    client.post(f"/p/{project}/-/cleanup", data={**FORM, "csrf": token})
    done = run(registry, project)
    settings = client.get(f"/p/{project}/-/settings").text
    assert f"/p/{project}/-/cleanup/runs/{done.id}" in settings and "All 1 runs" in settings
    listing = client.get(f"/p/{project}/-/cleanup/runs")
    assert listing.status_code == 200 and f"#{done.id}" in listing.text
    detail = client.get(f"/p/{project}/-/cleanup/runs/{done.id}")
    assert detail.status_code == 200
    assert "<dt>Tags deleted</dt><dd>2</dd>" in detail.text
    assert "<td>v2</td>" in detail.text and "<td>v1</td>" in detail.text
    assert client.get(f"/p/{project}/-/cleanup/runs/999999").status_code == 404
    assert client.get(f"/p/{project}/-/cleanup/runs?page=x").status_code == 400


def test_who_sees_what(registry: AuthRegistry, project: str) -> None:
    developer = registry.new_user({project: "developer"})
    client = signed_in(registry, developer.name, developer.password)
    assert client.get(f"/p/{project}/-/settings").status_code == 404
    token = csrf_of(client.get("/").text)
    refused = client.post(f"/p/{project}/-/cleanup", data={**FORM, "csrf": token})
    assert refused.status_code == 404
    assert client.get(f"/p/{project}/-/cleanup/runs").status_code == 200  # readers see runs
    stranger = registry.new_user()
    other = signed_in(registry, stranger.name, stranger.password)
    assert other.get(f"/p/{project}/-/cleanup/runs").status_code == 404
    token = csrf_of(other.get("/").text)
    hidden = other.post(f"/p/{project}/-/cleanup/preview", data={**FORM, "csrf": token})
    assert hidden.status_code == 404


def test_a_tag_page_says_what_the_policy_does_to_it(registry: AuthRegistry, project: str) -> None:
    """FORM keeps release-*, the newest one and anything under 30 days; the rest goes."""
    reporter = registry.new_user({project: "reporter"})
    client = signed_in(registry, reporter.name, reporter.password)

    def verdict(tag: str) -> str | None:
        return cleanup_row(client.get(f"/r/{project}/app/-/tags/{tag}").text)

    assert verdict("v1") is None  # no policy yet: nothing to say
    maintainer = registry.new_user({project: "maintainer"})
    owner = signed_in(registry, maintainer.name, maintainer.password)
    page = owner.get(f"/p/{project}/-/settings")
    owner.post(f"/p/{project}/-/cleanup", data={**FORM, "csrf": csrf_of(page.text)})

    assert "deleted at the next cleanup" in verdict("v1")
    assert verdict("v2").startswith('<span class="badge warn">deleted at the next cleanup')
    kept = "kept by the cleanup policy: "
    assert verdict("v3") == kept + "it is one of the 1 newest tags the policy matches"
    assert verdict("release-1") == kept + "its name matches the keep pattern"
    assert verdict("latest") == kept + "latest is always kept"
    assert "the policy</a>" in cleanup_row(owner.get(f"/r/{project}/app/-/tags/v1").text)

    page = owner.get(f"/p/{project}/-/settings")
    off = {k: v for k, v in FORM.items() if k != "enabled"}
    owner.post(f"/p/{project}/-/cleanup", data={**off, "csrf": csrf_of(page.text)})
    assert verdict("v1") == "the cleanup policy is off; if it ran now it would delete this tag"
    assert verdict("v3").endswith("(the policy is off)")
    run(registry, project)  # a run by hand agrees with what the pages said
    tags = rows(client.get(f"/r/{project}/app").text)
    assert sorted(tags) == ["latest", "release-1", "v3"]


def cleanup_row(html: str) -> str | None:
    found = re.search(r'<dd id="tag-cleanup">(.*?)</dd>', html, re.S)
    return re.sub(r"\s+", " ", found.group(1)).strip() if found else None


def test_a_verdict_too_long_to_settle_says_so(
    registry: AuthRegistry, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past VERDICT_SCAN tags read after it, the page says it cannot tell, never guesses."""
    maintainer = registry.new_user({project: "maintainer"})
    client = signed_in(registry, maintainer.name, maintainer.password)
    page = client.get(f"/p/{project}/-/settings")
    policy = {**FORM, "name_regex": "v1", "name_regex_keep": ""}
    client.post(f"/p/{project}/-/cleanup", data={**policy, "csrf": csrf_of(page.text)})
    assert cleanup_row(client.get(f"/r/{project}/app/-/tags/v1").text).startswith(
        "kept by the cleanup policy: it is one of the 1 newest"
    )
    monkeypatch.setattr(cleanup_service, "VERDICT_SCAN", 0)  # v2 and v3 come after v1
    said = cleanup_row(client.get(f"/r/{project}/app/-/tags/v1").text)
    assert said.startswith("not settled here: fewer than 1 of the 0 tags pushed right after")
