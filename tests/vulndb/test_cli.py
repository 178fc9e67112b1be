"""`dockyard vulndb import` and `dockyard vulndb status`, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import (
    Invoke,
    dockyard,  # noqa: F401  (the fixture)
)
from tests.vulndb import records as r


def test_import_and_status(dockyard: Invoke, tmp_path: Path) -> None:  # noqa: F811
    archive = r.write_zip(tmp_path / "all.zip", r.ALL)
    done = dockyard("vulndb", "import", str(archive), "--output", "json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert {k: result[k] for k in ("added", "updated", "withdrawn", "unchanged")} == {
        "added": 12,
        "updated": 0,
        "withdrawn": 1,
        "unchanged": 0,
    }
    assert result["skipped_unsupported_ecosystem"] == 1
    assert {"ecosystem": "PyPI", "package": "requests"} in result["changed_packages"]

    again = dockyard("vulndb", "import", str(archive))
    assert again.exit_code == 0, again.output
    assert "added 0, updated 0, withdrawn 0, unchanged 13" in again.stdout

    status = dockyard("vulndb", "status", "-o", "json")
    assert status.exit_code == 0, status.output
    state = json.loads(status.stdout)
    assert state["advisories"] == 13 and state["withdrawn"] == 1
    assert state["ecosystems"]["Alpine:v3.19"] == 1
    assert state["ecosystems"]["Ubuntu:22.04"] == 1
    assert state["last_import"]
    table = dockyard("vulndb", "status")
    assert "Debian:12" in table.stdout and "last import:" in table.stdout


def test_missing_path_fails_clearly(dockyard: Invoke, tmp_path: Path) -> None:  # noqa: F811
    done = dockyard("vulndb", "import", str(tmp_path / "nope.zip"))
    assert done.exit_code == 1
    assert "no such file or folder" in done.output
