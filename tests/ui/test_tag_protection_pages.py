"""Protected and immutable tags in the web UI, server side: the settings section, the lock
on tags, and deletes the rules refuse (the no-JavaScript paths). The browser test is
tests/integration/test_ui_tag_protection.py."""

from __future__ import annotations

import re

import pytest

from tests.api.helpers import push_image
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.support.tag_protection import pointed, protect
from tests.ui.test_pages import csrf_of, signed_in


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    project = registry.new_project("private")
    for tag in ("v1", "v2", "dev-1"):
        push_image(registry, f"{project}/app", tag, layers=[tag.encode()])
    return project


def locks(html: str) -> dict[str, str]:
    """Tag name -> the text of its lock badge, from the repository page."""
    found = {}
    for row in re.findall(r'<tr data-tag="([^"]+)">(.*?)</tr>', html, re.S):
        badge = re.search(r'class="badge lock (\w+)"[^>]*>.*?</svg> (\w+)</span>', row[1], re.S)
        if badge:
            found[row[0]] = badge.group(2)
    return found


def test_maintainers_manage_rules_in_project_settings(registry: AuthRegistry, project: str):
    maintainer = registry.new_user({project: "maintainer"})
    client = signed_in(registry, maintainer.name, maintainer.password)
    settings = client.get(f"/p/{project}/-/settings")
    assert "Protected tags" in settings.text and "No tag is protected." in settings.text
    token = csrf_of(settings.text)
    form = {
        "csrf": token,
        "action": "add_tag_rule",
        "tag_name_pattern": "v.*",
        "minimum_access_level_for_push": "maintainer",
        "minimum_access_level_for_delete": "maintainer",
    }
    added = client.post(f"/p/{project}/-/settings", data=form)
    assert "tags matching &#39;v.*&#39; are now protected" in added.text
    assert "<code>v.*</code>" in added.text
    bad = client.post(f"/p/{project}/-/settings", data={**form, "tag_name_pattern": "(v"})
    assert "not a valid RE2 expression: missing ): (v" in bad.text
    frozen = client.post(
        f"/p/{project}/-/settings", data={**form, "tag_name_pattern": "v1", "immutable": "1"}
    )
    assert f"only an Owner of {project} may add or remove immutable rules" in frozen.text

    page = client.get(f"/r/{project}/app").text
    assert locks(page) == {"v1": "protected", "v2": "protected"}
    rule_id = re.search(r'<tr data-rule="(\d+)">', added.text).group(1)
    removed = client.post(
        f"/p/{project}/-/settings",
        data={"csrf": token, "action": "remove_tag_rule", "rule_id": rule_id},
    )
    assert "tag protection rule removed" in removed.text
    assert locks(client.get(f"/r/{project}/app").text) == {}


def test_developers_get_no_settings_and_owners_add_immutable_rules(
    registry: AuthRegistry, project: str
):
    developer = registry.new_user({project: "developer"})
    assert (
        signed_in(registry, developer.name, developer.password)
        .get(f"/p/{project}/-/settings")
        .status_code
        == 404
    )
    owner = registry.new_user({project: "owner"})
    client = signed_in(registry, owner.name, owner.password)
    token = csrf_of(client.get(f"/p/{project}/-/settings").text)
    added = client.post(
        f"/p/{project}/-/settings",
        data={
            "csrf": token,
            "action": "add_tag_rule",
            "tag_name_pattern": "v1",
            "minimum_access_level_for_push": "owner",  # ignored: immutable takes no roles
            "immutable": "1",
        },
    )
    assert "tags matching &#39;v1&#39; are now immutable" in added.text
    assert locks(client.get(f"/r/{project}/app").text) == {"v1": "immutable"}
    tag = client.get(f"/r/{project}/app/-/tags/v1").text
    shown = r'id="tag-protection">.*</svg> immutable</span> no one may move or delete'
    assert re.search(shown, tag, re.S)
    assert 'id="tag-protection"' not in client.get(f"/r/{project}/app/-/tags/v2").text


def test_ui_deletes_refused_by_a_rule_delete_nothing(registry: AuthRegistry, project: str):
    rule = protect(registry, project, tag_name_pattern="v1", immutable=True)
    admin = signed_in(registry, "admin", ADMIN_PASSWORD)
    token = csrf_of(admin.get(f"/r/{project}/app").text)
    refused = admin.post(
        f"/r/{project}/app/-/delete-tags",
        data={"csrf": token, "confirmed": "1", "tags": ["dev-1", "v1"]},
    )
    assert (
        f"nothing deleted: tag v1 is immutable by rule {rule} (tag_name_pattern &#39;v1&#39;)"
        in refused.text
    )
    everything = admin.post(
        f"/r/{project}/app/-/delete-tags", data={"csrf": token, "all_matching": "1", "name": ""}
    )
    assert "nothing deleted: tag v1 is immutable" in everything.text  # before asking to confirm
    gone = admin.post(
        f"/r/{project}/app/-/delete", data={"csrf": token, "confirm_name": f"{project}/app"}
    )
    assert f"repository {project}/app cannot be deleted: tag v1 is immutable" in gone.text
    assert pointed(registry, f"{project}/app", "dev-1") is not None
    assert pointed(registry, f"{project}/app", "v1") is not None
