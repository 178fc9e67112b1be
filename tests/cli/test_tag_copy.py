"""`dockyard tag copy SRC DST`: promotion by reference from the command line; what it
made is served at once, and refusals say why with exit code 1."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from dockyard.config import load_settings
from dockyard.http.app import create_app
from tests.cli.conftest import Invoke
from tests.support.cleanup import push_tag


def test_copy_promotes_and_refusals_say_why(dockyard: Invoke) -> None:
    for args in (("group", "create", "acme"), ("project", "create", "acme/app")):
        assert dockyard(*args).exit_code == 0
    assert dockyard("project", "create", "acme/prod").exit_code == 0
    settings = load_settings(auth="none")
    with TestClient(create_app(settings)) as client:
        digest = push_tag(client, "acme/app/web", "rc-1")

        done = dockyard("tag", "copy", "acme/app/web:rc-1", "acme/prod/web:1.0", "-o", "json")
        assert done.exit_code == 0, done.output
        row = json.loads(done.stdout)
        assert row == {
            "source": "acme/app/web:rc-1",
            "target": "acme/prod/web:1.0",
            "digest": digest,
            "manifests": 1,
            "blobs": 2,
        }
        served = client.head("/v2/acme/prod/web/manifests/1.0")
        assert served.status_code == 200
        assert served.headers["docker-content-digest"] == digest

        table = dockyard("tag", "copy", "acme/app/web:rc-1", "acme/prod/web")
        assert table.exit_code == 0
        assert table.output.startswith(f"acme/prod/web:rc-1 -> {digest} (1 manifests")

    missing = dockyard("tag", "copy", "acme/app/web:nope", "acme/prod/web:1.1")
    assert missing.exit_code == 1
    assert "cannot copy acme/app/web:nope" in missing.output
    nowhere = dockyard("tag", "copy", "acme/app/web:rc-1", "other/place/web:1")
    assert nowhere.exit_code == 1 and "no project holds other/place/web" in nowhere.output
    untagged = dockyard("tag", "copy", "acme/app/web", "acme/prod/web:1.1")
    assert untagged.exit_code == 1 and "names no tag" in untagged.output
