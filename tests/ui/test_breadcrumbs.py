"""Breadcrumbs on group, project, repository, tag and platform pages lead back up through
every group; a group page lists the subgroups and projects below it."""

from __future__ import annotations

import re

from dockyard.admin import accounts
from dockyard.http.ui.pages import trail
from tests.api.helpers import push_image
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.ui.test_pages import signed_in


def crumbs(html: str) -> list[tuple[str, str | None]]:
    nav = re.search(r'<nav aria-label="Breadcrumb" class="crumbs">(.*?)</nav>', html)
    assert nav, "the page has no breadcrumbs"
    item = r'<li>(?:<a href="([^"]+)">([^<]+)</a>|<span aria-current="page">([^<]+)</span>)</li>'
    links = re.findall(item, nav.group(1))
    return [(label or current, href or None) for href, label, current in links]


def test_trail_of_each_kind_of_page() -> None:
    assert trail("acme/team/app", "acme/team/app/web", "v1") == [
        ("acme", "/g/acme"),
        ("team", "/g/acme/team"),
        ("app", "/p/acme/team/app"),
        ("web", "/r/acme/team/app/web"),
        ("v1", None),
    ]
    assert trail(group="acme/team") == [("acme", "/g/acme"), ("team", None)]
    assert trail("acme/app") == [("acme", "/g/acme"), ("app", None)]


def test_pages_show_the_way_back_up(registry: AuthRegistry) -> None:
    project = registry.new_project("private")
    group = project.split("/")[0]
    accounts.create_group(registry.db, f"{group}/team")
    push_image(registry, f"{project}/svc/api", "v1", layers=[b"layer"])
    browser = signed_in(registry, "admin", ADMIN_PASSWORD)
    name = project.split("/")[1]
    tag_page = browser.get(f"/r/{project}/svc/api/-/tags/v1").text
    assert crumbs(tag_page) == [
        (group, f"/g/{group}"),
        (name, f"/p/{project}"),
        ("svc/api", f"/r/{project}/svc/api"),
        ("v1", None),
    ]
    assert crumbs(browser.get(f"/p/{project}").text) == [(group, f"/g/{group}"), (name, None)]
    group_page = browser.get(f"/g/{group}").text
    assert crumbs(group_page) == [(group, None)]
    assert f'<a href="/g/{group}/team">team</a>' in group_page
    assert f'href="/p/{project}"' in group_page
