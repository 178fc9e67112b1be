"""Deleting every tag a filter matches in a real browser: past the in-request limit the
delete runs as a job, the repository page shows its progress bar, and when the job is
done the page shows the list as it is now, counts included."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from dockyard.admin.tag_deletes import IN_REQUEST
from tests.api.helpers import push_image
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.support.browser import assert_accessible, sign_in
from tests.support.live_app import serve
from tests.ui.scanned import drain
from tests.ui.test_bulk_delete_pages import tag_all

pytestmark = pytest.mark.timeout(300)
MATCHING = IN_REQUEST + 500


@pytest.fixture(scope="module")
def reg(make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry("sqlite", scan_on_push=False)


@pytest.fixture(scope="module")
def server(reg: AuthRegistry) -> Iterator[str]:
    with serve(reg.client.app) as (url, errors):
        yield url
    assert not errors, f"the app raised while serving the browser: {errors!r}"


def test_a_big_delete_shows_its_progress_then_the_new_list(
    page: Page, server: str, reg: AuthRegistry
) -> None:
    project = reg.new_project("private")
    repository = f"{project}/app"
    image = push_image(reg, repository, "keep", layers=[b"a layer"])
    tag_all(reg, repository, image.digest, [f"rc-{n:04}" for n in range(MATCHING)])
    sign_in(page, server, "admin", ADMIN_PASSWORD)
    page.goto(f"{server}/r/{repository}?name=rc-")
    expect(page.locator("#tag-total")).to_have_text(str(MATCHING))

    page.check("#select-all")
    page.click("#delete-selected")  # every match: the server asks for the confirmation
    expect(page.locator("h1")).to_have_text(f"Delete {MATCHING} tags from {repository}?")
    page.get_by_role("button", name="Delete").click()

    card = page.locator("#delete-job")
    expect(card).to_be_visible()
    expect(page.locator(".flash")).to_have_text(f"deleting {MATCHING:,} tags: progress below")
    assert_accessible(page)
    drain(reg)  # the worker runs the job; the page sees it finish and reloads
    expect(card).to_have_count(0, timeout=15000)
    expect(page.locator("#tag-total")).to_have_text("0")
    page.goto(f"{server}/r/{repository}")
    expect(page.locator("#tags tbody tr[data-tag]")).to_have_count(1)
    expect(page.locator('tr[data-tag="keep"]')).to_be_visible()
