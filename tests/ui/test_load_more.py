"""Load more pages by keyset: after tags are deleted in place, the next page starts after
the last row shown (none skipped, none repeated), and the rows it brings are rendered by
the same template as the first page's (badges, copy buttons, relative dates)."""

from __future__ import annotations

import re

from tests.api.helpers import OCI_MANIFEST, auth, push_image, repository_id
from tests.support.auth_registry import ADMIN_PASSWORD, AuthRegistry
from tests.ui.test_pages import signed_in


def shown(html: str) -> list[str]:
    return re.findall(r'<tr data-tag="([^"]+)"', html)


def more_link(html: str) -> str | None:
    found = re.search(r'id="load-more" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_load_more_after_deletes_skips_nothing(registry: AuthRegistry) -> None:
    project = registry.new_project("private")
    repository = f"{project}/app"
    names = [f"t{n:02}" for n in range(25)]
    first = push_image(registry, repository, names[0], layers=[b"layer"])
    token = registry.token("admin", registry.admin_pat, f"repository:{repository}:pull,push")
    headers = {**registry.bearer(token), "Content-Type": OCI_MANIFEST}
    for name in names[1:]:
        put = registry.client.put(
            f"/v2/{repository}/manifests/{name}", content=first.body, headers=headers
        )
        assert put.status_code == 201
    browser = signed_in(registry, "admin", ADMIN_PASSWORD)
    page = browser.get(f"/r/{repository}?sort=name&per_page=10").text
    assert shown(page) == names[:10]
    repo_id = repository_id(registry, project, repository, registry.admin_pat)
    gone = registry.client.post(
        f"/api/v1/registry/repositories/{repo_id}/tags/delete",
        json={"tags": names[:5]},
        headers=auth(registry.admin_pat),
    )
    assert gone.status_code == 200

    link = more_link(page)
    assert link is not None and "after=" in link
    second = browser.get(f"/r/{repository}{link}").text
    assert shown(second) == names[10:20]  # the next ten, as the person saw the list
    assert second.count('class="copy small"') == 2 * 10  # digest and pull, every row
    third = browser.get(f"/r/{repository}{more_link(second)}").text
    assert shown(third) == names[20:25] and more_link(third) is None
    bad = browser.get(f"/r/{repository}?sort=name&after=not-a-cursor")
    assert bad.status_code == 400 and "not a cursor" in bad.text
