"""Token scopes explained on the personal and deploy token forms: a fieldset with a legend,
every control with a visible label, each scope with what it allows, the scopes of
existing tokens in words, and a token with no scope refused with a clear message."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dockyard.admin import tokens as admin_tokens
from tests.support.auth_registry import AuthRegistry
from tests.ui.test_pages import csrf_of, signed_in


def form_of(page: str, marker: str) -> str:
    """The HTML of the form that holds ``marker``."""
    at = page.index(marker)
    return page[page.rindex("<form", 0, at) : page.index("</form>", at)]


def test_the_personal_token_form_explains_each_scope(registry: AuthRegistry) -> None:
    user = registry.new_user()
    client = signed_in(registry, user.name, user.password)
    form = form_of(client.get("/-/settings/tokens").text, 'name="expires_in_days"')
    assert "<fieldset" in form and "<legend>Scopes: what the token may do" in form
    assert "placeholder" not in form  # visible labels, not placeholders
    assert '<label for="token-name">Token name</label>' in form
    assert '<input id="token-name" name="name"' in form
    for scope, meaning in (
        ("read_registry", "pull images"),
        ("write_registry", "push images too (deleting them still needs your role"),
        ("api", "use the REST API as you"),
    ):
        label = re.search(rf'<label><input type="checkbox" name="{scope}"[^>]*>(.*?)</label>', form)
        assert label and meaning in label.group(1), scope
    assert '<label for="token-expiry">Expires after (days)</label>' in form
    assert re.search(r'<input id="token-expiry" name="expires_in_days" [^>]*value="30"', form)
    assert "0 to 3650 days (ten years); 0 means it never expires." in form


def test_a_token_without_a_scope_is_refused(registry: AuthRegistry) -> None:
    user = registry.new_user()
    client = signed_in(registry, user.name, user.password)
    before = len(admin_tokens.list_tokens(registry.db, username=user.name))
    token = csrf_of(client.get("/-/settings/tokens").text)
    resp = client.post(
        "/-/settings/tokens", data={"csrf": token, "name": "nothing", "expires_in_days": "30"}
    )
    assert resp.status_code == 200 and 'id="new-token"' not in resp.text
    assert "No token was created: choose at least one scope" in resp.text
    assert len(admin_tokens.list_tokens(registry.db, username=user.name)) == before


def test_existing_tokens_show_their_scopes_in_words(registry: AuthRegistry) -> None:
    user = registry.new_user()
    client = signed_in(registry, user.name, user.password)
    token = csrf_of(client.get("/-/settings/tokens").text)
    made = client.post(
        "/-/settings/tokens",
        data={
            "csrf": token,
            "name": "ci-builds",
            "write_registry": "on",
            "api": "on",
            "expires_in_days": "30",
        },
    )
    assert 'id="new-token"' in made.text
    row = re.search(r"<tr><td>ci-builds</td>.*?</tr>", made.text, re.S).group(0)
    assert "<code>api</code> (REST API)" in row
    assert "<code>write_registry</code> (push images)" in row
    (record,) = [
        t
        for t in admin_tokens.list_tokens(registry.db, username=user.name)
        if t.name == "ci-builds"
    ]
    assert abs(record.expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(hours=1)


def test_the_deploy_token_form_explains_its_scopes_and_refuses_none(
    registry: AuthRegistry,
) -> None:
    project = registry.new_project()
    maintainer = registry.new_user({project: "maintainer"})
    client = signed_in(registry, maintainer.name, maintainer.password)
    page = client.get(f"/p/{project}/-/settings").text
    form = form_of(page, 'value="create_deploy_token"')
    assert "<fieldset" in form and "<legend>Scopes: what the token may do" in form
    assert "placeholder" not in form
    assert '<label for="deploy-token-name">Token name</label>' in form
    assert 'name="api"' not in form  # deploy tokens never reach the REST API
    assert "pull images from this project." in form
    assert "push images to this project too (deploy tokens never delete)." in form

    fields = {"csrf": csrf_of(page), "action": "create_deploy_token", "name": "k8s"}
    refused = client.post(f"/p/{project}/-/settings", data=fields)
    assert refused.status_code == 200 and 'id="new-token"' not in refused.text
    assert "No deploy token was created: choose at least one scope" in refused.text
    assert not [
        t for t in admin_tokens.list_tokens(registry.db, project=project) if t.kind == "deploy"
    ]

    made = client.post(f"/p/{project}/-/settings", data={**fields, "read_registry": "on"})
    assert 'id="new-token"' in made.text
    assert "<code>read_registry</code> (pull images)" in made.text
