"""The administrator's pages in a real browser (Chromium via Playwright) against a live
server: filter the user list, block someone through the confirmation dialog and see the
badge; both pages pass axe-core."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from dockyard.admin import accounts
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.support.browser import assert_accessible, sign_in
from tests.support.live_app import serve

pytestmark = pytest.mark.timeout(300)


def test_an_admin_filters_users_and_blocks_one_after_confirming(
    page: Page, make_auth_registry: Callable[..., AuthRegistry]
) -> None:
    reg = make_auth_registry("sqlite", scan_on_push=False)
    tag = uuid.uuid4().hex[:6]
    target, bystander = f"carol-{tag}", f"dave-{tag}"
    for name in (target, bystander):
        accounts.create_user(reg.db, name, f"{name}@example.com", f"password-of-{name}")
    with serve(reg.client.app) as (server, errors):
        sign_in(page, server, "admin", ADMIN_PASSWORD)
        page.get_by_role("link", name="Users").click()
        page.get_by_label("Filter by username or email").fill(f"CAROL-{tag}")
        page.get_by_role("button", name="Filter").click()
        rows = page.locator("#users tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-user", target)
        assert_accessible(page)

        page.get_by_role("button", name=f"Block {target}").click()
        dialog = page.locator("dialog#confirm")
        expect(dialog).to_be_visible()
        expect(dialog.locator("#confirm-message")).to_have_text(
            f"{target} will be signed out everywhere and cannot sign in, pull or push until "
            "unblocked."
        )
        expect(dialog.locator("#confirm-yes")).to_have_text("Block")
        assert not accounts.find_user(reg.db, target).is_blocked  # nothing sent yet
        dialog.locator("#confirm-yes").click()

        expect(page.locator("p.flash")).to_have_text(
            f"{target} is blocked and signed out everywhere"
        )
        expect(page).to_have_url(re.compile(rf"/-/admin/users\?q=CAROL-{tag}$"))
        row = page.locator(f'#users tr[data-user="{target}"]')
        expect(row.locator(".badge.warn")).to_have_text("blocked")
        expect(row.get_by_role("button", name=f"Unblock {target}")).to_be_visible()
        assert accounts.find_user(reg.db, target).is_blocked
        assert not accounts.find_user(reg.db, bystander).is_blocked

        page.get_by_role("link", name="Settings", exact=True).click()
        expect(page.locator("h1")).to_have_text("Settings")
        expect(page.locator("#setting-token_ttl_seconds")).to_contain_text("300")
        assert_accessible(page)
    assert not errors, f"the app raised while serving the browser: {errors!r}"
