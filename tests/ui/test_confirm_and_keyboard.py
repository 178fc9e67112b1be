"""Destructive actions ask once, in the page's own small dialog, with Cancel focused and
Escape cancelling; keyboard users start at a skip link and always see where focus is."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.support.auth_registry import AuthRegistry
from tests.support.browser import sign_in
from tests.support.live_app import serve

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def reg(make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry("sqlite", scan_on_push=False)


@pytest.fixture(scope="module")
def server(reg: AuthRegistry) -> Iterator[str]:
    with serve(reg.client.app) as (url, errors):
        yield url
    assert not errors, f"the app raised while serving the browser: {errors!r}"


def test_removing_a_member_asks_first_and_escape_keeps_them(
    page: Page, server: str, reg: AuthRegistry
) -> None:
    project = reg.new_project()
    owner = reg.new_user({project: "owner"})
    member = reg.new_user({project: "developer"})
    sign_in(page, server, owner.name, owner.password)
    page.goto(f"{server}/p/{project}/-/settings")
    row = page.locator("tr", has_text=member.name)
    dialog = page.locator("dialog#confirm")

    row.get_by_role("button", name="Remove").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Remove {member.name} from {project}?")
    expect(page.locator("#confirm-no")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.reload()
    expect(page.locator("tr", has_text=member.name)).to_have_count(1)  # nothing was sent

    row.get_by_role("button", name="Remove").click()
    page.locator("#confirm-yes").click()
    expect(page.locator(".flash")).to_have_text("member removed")
    expect(page.locator("tr", has_text=member.name)).to_have_count(0)


def test_the_first_tab_stop_skips_to_the_content_with_a_visible_focus(
    page: Page, server: str, reg: AuthRegistry
) -> None:
    user = reg.new_user()
    sign_in(page, server, user.name, user.password)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # shown while it has focus
    outline = skip.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
