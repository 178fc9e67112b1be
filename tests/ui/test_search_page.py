"""Search finds tags by name and, for a pasted digest (or its first characters), every
repository that holds it as an image manifest or a layer; only what the viewer may see."""

from __future__ import annotations

import os

from tests.api.helpers import push_image
from tests.support.auth_registry import AuthRegistry
from tests.ui.test_pages import signed_in


def test_search_finds_tags_and_where_a_digest_lives(registry: AuthRegistry) -> None:
    mine = registry.new_project("private")
    theirs = registry.new_project("private")
    shared = os.urandom(256)
    image = push_image(registry, f"{mine}/app", "release-77", layers=[shared])
    other = push_image(registry, f"{theirs}/app", "release-77", layers=[shared, b"own"])
    reader = registry.new_user({mine: "reporter"})
    browser = signed_in(registry, reader.name, reader.password)

    tags = browser.get("/-/search", params={"q": "release-7"}).text
    assert f'href="/r/{mine}/app/-/tags/release-77"' in tags
    assert theirs not in tags

    layer = image.layers[0]["digest"]
    found = browser.get("/-/search", params={"q": layer[:20]}).text
    assert f'href="/r/{mine}/app"' in found and "layer or config" in found
    assert theirs not in found
    manifest = browser.get("/-/search", params={"q": image.digest}).text
    assert f'href="/r/{mine}/app/-/manifests/{image.digest}"' in manifest
    hidden = browser.get("/-/search", params={"q": other.digest}).text
    assert "No image you may see holds a digest" in hidden
