"""Chromium for UI tests: one launch per test session, pages at a chosen width and colour
scheme, signing in through the real form, and the accessibility check every browser test
shares. The system's Chromium only (/usr/bin/chromium); nothing is downloaded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERIOUS = frozenset({"serious", "critical"})
ANY = frozenset({"minor", "moderate", "serious", "critical"})


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the block (the ``browser`` fixture wraps this)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def new_page(browser: Browser, width: int = 1280, scheme: str = "light") -> Iterator[Page]:
    """A page in a context of its own (own cookies), closed after the block."""
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, server: str, username: str, password: str) -> None:
    """Sign in through the form and wait until the home page is shown."""
    page.goto(f"{server}/-/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Projects")


def accessibility_problems(page: Page, impacts: frozenset[str] = SERIOUS) -> list[str]:
    """axe-core's findings on the page at the given impact levels, one line each."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v.get('impact')}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in impacts
    ]


def assert_accessible(page: Page, impacts: frozenset[str] = ANY) -> None:
    problems = accessibility_problems(page, impacts)
    assert not problems, f"{page.url}: " + "; ".join(problems)
