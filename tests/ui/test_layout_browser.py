"""Every main page is usable at phone, tablet and desktop widths, in the light and the dark
theme: nothing makes the page scroll sideways (long tag, token and digest strings wrap or
are cut with the whole value in a tooltip), and axe-core finds nothing serious (checked
at the phone width, in both themes). Set
DOCKYARD_SCREENSHOTS to a folder to keep a picture of each page, width and theme there
(docs/screenshots/ holds the ones the README shows)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from dockyard.admin import tokens as admin_tokens
from tests.api.helpers import push_image, push_index
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.support.browser import SERIOUS, accessibility_problems, new_page, sign_in
from tests.support.live_app import serve

pytestmark = pytest.mark.timeout(300)
WIDTHS = (390, 768, 1280)
AXE_WIDTH = 390  # the narrowest: where hidden or squeezed controls would show first
VISITOR_PAGES = {"login": "/-/login", "explore": "/-/explore"}  # before signing in
LONG_TAG = "release-candidate-" + "x" * 100


@pytest.fixture(scope="module")
def reg(make_auth_registry: Callable[..., AuthRegistry]) -> AuthRegistry:
    return make_auth_registry("sqlite", scan_on_push=False)


@pytest.fixture(scope="module")
def site(reg: AuthRegistry) -> dict[str, str]:
    """A project with a long-named tag, a multi-platform image and a long-named token."""
    project = reg.new_project("private", group="layout-group-with-a-rather-long-name")
    repository = f"{project}/service-with-a-long-repository-name/api"
    image = push_image(reg, repository, LONG_TAG, layers=[os.urandom(2000)])
    arm = push_image(reg, repository, "arm", layers=[os.urandom(1000)])
    push_index(reg, repository, "multi", [image, arm], [("linux", "amd64"), ("linux", "arm64")])
    admin_tokens.create_personal(reg.db, "admin", "n" * 100, ["read_registry"])
    return {
        "home": "/",
        "project": f"/p/{project}",
        "repository": f"/r/{repository}",
        "tag": f"/r/{repository}/-/tags/{LONG_TAG}",
        "index": f"/r/{repository}/-/tags/multi",
        "tokens": "/-/settings/tokens",
        "settings": f"/p/{project}/-/settings",
        "search": "/-/search?q=release",
        "group": f"/g/{project.split('/')[0]}",
        "platform": f"/r/{repository}/-/manifests/{arm.digest}",
        "vulnerabilities": f"/p/{project}/-/vulnerabilities",
        "tag-vulnerabilities": f"/r/{repository}/-/tags/{LONG_TAG}/vulnerabilities",
        "new-project": "/-/projects/new",
        "new-group": "/-/groups/new",
        "password": "/-/settings/password",
        "users": "/-/admin/users",
        "admin-settings": "/-/admin/settings",
        "storage": "/-/admin/storage",
        "cleanup": f"/p/{project}/-/settings#cleanup",
    }


@pytest.fixture(scope="module")
def server(reg: AuthRegistry) -> Iterator[str]:
    with serve(reg.client.app) as (url, errors):
        yield url
    assert not errors, f"the app raised while serving the browser: {errors!r}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_pages_fit_every_width_and_theme(
    browser: Browser, server: str, site: dict[str, str], width: int, scheme: str
) -> None:
    keep = os.environ.get("DOCKYARD_SCREENSHOTS")
    problems: list[str] = []

    def check(page: Page, name: str, path: str) -> None:
        page.goto(server + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 1:
            problems.append(f"{name} scrolls sideways by {overflow}px")
        # axe at one width per theme: its rules (contrast, names, landmarks) read the
        # same markup at every width, and each run costs about half a second.
        if width == AXE_WIDTH and (serious := accessibility_problems(page, SERIOUS)):
            problems.append(f"{name}: axe {serious}")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{keep}/{name}-{width}-{scheme}.png", full_page=True)

    with new_page(browser, width, scheme) as page:
        for name, path in VISITOR_PAGES.items():
            check(page, name, path)
        sign_in(page, server, "admin", ADMIN_PASSWORD)
        for name, path in site.items():
            check(page, name, path)
    assert not problems, "\n".join(problems)


def test_the_dark_theme_follows_the_system(browser: Browser, server: str) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        with new_page(browser, 1280, scheme) as page:
            sign_in(page, server, "admin", ADMIN_PASSWORD)
            colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert colours["light"] == "rgb(255, 255, 255)"
    assert colours["dark"] != colours["light"]
