"""bench/run.py rewrites only its own block of docs/benchmarks.md, never the prose around it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report import splice

DOC = """# Benchmarks

## Default

<!-- bench/run.py: begin -->

old table

<!-- bench/run.py: end -->

Hand-written reading of the numbers.

## Two workers

<!-- bench/run.py --workers 2: begin -->

other table

<!-- bench/run.py --workers 2: end -->

## Scanning

Hand-written too.
"""


def test_only_the_runs_block_is_replaced() -> None:
    new = splice(DOC, "new table\n", 1)
    assert new == DOC.replace("old table", "new table")
    assert splice(DOC, "third\n", 2) == DOC.replace("other table", "third")


def test_the_real_document_keeps_its_sections() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "benchmarks.md").read_text()
    new = splice(doc, "| a | b |\n|---|---|\n", 1)
    headings = [line for line in doc.splitlines() if line.startswith("#")]
    assert [line for line in new.splitlines() if line.startswith("#")] == headings
    assert "## Advisories: import and matching (`bench/vulndb_import.py`)" in headings
    assert "## Scanning" in headings


def test_a_document_without_markers_is_refused_not_overwritten() -> None:
    with pytest.raises(ValueError, match="bench/run.py: begin"):
        splice("# Benchmarks\n\nprose only\n", "table\n", 1)


def test_a_missing_document_gets_just_the_block() -> None:
    assert splice(None, "table\n", 1) == (
        "# Benchmarks\n\n<!-- bench/run.py: begin -->\n\ntable\n\n<!-- bench/run.py: end -->\n"
    )
