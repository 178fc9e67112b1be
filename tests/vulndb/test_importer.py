"""Importing OSV advisories from files, folders and zips, idempotently."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.db.engine import Database
from dockyard.vulndb.importer import import_paths
from dockyard.vulndb.store import advisory_status
from tests.vulndb import records as r


def test_import_a_zip_then_again_unchanged(db: Database, tmp_path: Path) -> None:
    archive = r.write_zip(tmp_path / "all.zip", r.ALL)
    first = import_paths(db, [archive])
    assert (first.added, first.updated, first.withdrawn, first.unchanged, first.skipped) == (
        12,
        0,
        1,
        0,
        1,
    )
    assert ("PyPI", "requests") in first.changed
    assert ("Debian:11", "openssl") in first.changed
    assert ("Ubuntu:22.04", "curl") in first.changed
    assert not any(eco == "crates.io" for eco, _ in first.changed)
    assert ("PyPI", "urllib3") not in first.changed  # withdrawn: no ranges kept

    again = import_paths(db, [archive])
    assert (again.added, again.updated, again.withdrawn, again.unchanged) == (0, 0, 0, 13)
    assert again.skipped == 1
    assert again.changed == frozenset()


def test_import_a_folder_recursively_and_single_files(db: Database, tmp_path: Path) -> None:
    folder = r.write_folder(tmp_path / "osv", r.SUPPORTED)
    (folder / "README.md").write_text("not json, not looked at")
    summary = import_paths(db, [folder])
    assert (summary.added, summary.withdrawn, summary.invalid) == (12, 1, 0)
    single = tmp_path / "one.json"
    single.write_text(json.dumps(r.changed(r.PYPI_REQUESTS, id="PYSEC-2018-28")))
    assert import_paths(db, [single]).added == 1
    state = advisory_status(db)
    assert state.advisories == 14
    assert state.withdrawn == 1
    assert state.per_ecosystem["PyPI"] == 3  # requests twice, jinja2; urllib3 is withdrawn
    assert state.per_ecosystem["Debian:12"] == 2
    assert state.per_ecosystem["Debian:11"] == 2
    assert state.last_import is not None


def test_newer_replaces_older_is_skipped(db: Database, tmp_path: Path) -> None:
    import_paths(db, [r.write_zip(tmp_path / "a.zip", [r.PYPI_REQUESTS, r.NPM_LODASH])])
    newer = r.changed(r.PYPI_REQUESTS, modified=r.T1)
    newer["affected"][0]["package"]["name"] = "requests-toolbelt"
    older = r.changed(r.NPM_LODASH, modified="2020-01-01T00:00:00Z", summary="old")
    summary = import_paths(db, [r.write_zip(tmp_path / "b.zip", [newer, older])])
    assert (summary.added, summary.updated, summary.unchanged) == (0, 1, 1)
    # Both the package it named before and the one it names now may need a rematch.
    assert summary.changed == {("PyPI", "requests"), ("PyPI", "requests-toolbelt")}


def test_withdrawn_update_and_bad_input_counted(db: Database, tmp_path: Path) -> None:
    import_paths(db, [r.write_zip(tmp_path / "a.zip", [r.PYPI_JINJA])])
    gone = r.changed(r.PYPI_JINJA, modified=r.T1, withdrawn=r.T1)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "gone.json").write_text(json.dumps(gone))
    (folder / "broken.json").write_text("{not json")
    (folder / "list.json").write_text(json.dumps([{"id": "NO-DATE"}, r.GO_XNET]))
    summary = import_paths(db, [folder])
    assert (summary.withdrawn, summary.added, summary.invalid) == (1, 1, 2)
    assert ("PyPI", "jinja2") in summary.changed
    assert "PyPI" not in advisory_status(db).per_ecosystem


def test_many_records_cross_batches(db: Database, tmp_path: Path) -> None:
    many = [r.changed(r.NPM_LODASH, id=f"GHSA-{i:04d}") for i in range(25)]
    later = tmp_path / "later.json"  # a newer copy of one, after its batch was written
    later.write_text(json.dumps(r.changed(r.NPM_LODASH, id="GHSA-0003", modified=r.T1)))
    summary = import_paths(db, [r.write_zip(tmp_path / "m.zip", many), later], batch=7)
    assert (summary.added, summary.updated, summary.unchanged) == (25, 1, 0)
    assert advisory_status(db).per_ecosystem == {"npm": 25}


def test_progress_hooks_see_every_document(db: Database, tmp_path: Path) -> None:
    from dockyard.vulndb.importer import Progress

    seen: list[int] = []
    total: list[int] = []
    archive = r.write_zip(tmp_path / "p.zip", r.ALL)
    import_paths(db, [archive], progress=Progress(start=total.append, advance=seen.append))
    assert total == [len(r.ALL)]
    assert sum(seen) == len(r.ALL)


def test_hostile_text_is_cleaned_or_refused_not_crashing(db: Database, tmp_path: Path) -> None:
    odd = r.changed(r.PYPI_REQUESTS, id="GHSA-nul", summary="a\x00b", aliases=["CVE\x00-1"])
    odd["affected"].append({"package": {"ecosystem": "PyPI", "name": "x" * 300}})
    summary = import_paths(db, [r.write_zip(tmp_path / "odd.zip", [odd, {"id": "Y" * 300}])])
    assert (summary.added, summary.invalid) == (1, 1)
    assert summary.changed == {("PyPI", "requests")}
