"""bench/run.py rewrites only its own block of docs/benchmarks.md, never the prose around it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report import markdown, splice

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


CONTEXT = {
    "date": "today",
    "command": "bench/run.py --auth",
    "cpus": 2,
    "memory_GiB": 24,
    "kernel": "6",
    "python": "3.11",
    "distribution": "2.8.2",
    "workers": 1,
}


def test_an_auth_run_adds_its_column_and_its_ratio_to_auth_off() -> None:
    results = {
        "Distribution": {"manifest_get_rps": 1000.0, "manifest_get_p99_ms": 40.0},
        "Dockyard": {"manifest_get_rps": 3000.0, "manifest_get_p99_ms": 20.0},
        "Dockyard (auth)": {"manifest_get_rps": 2400.0, "manifest_get_p99_ms": 25.0},
    }
    table = markdown(CONTEXT, results)
    assert "| Dockyard, token auth | auth on ÷ off |" in table
    assert (
        "| manifest GET by tag, concurrency 64 | req/s | 1,000 | 3,000 | 3.00× | 2,400 | 0.80× |"
        in table
    )
    assert (
        "| manifest GET p99 | ms | 40.00 | 20.00 | 2.00× | 25.00 | 0.80× |" in table
    )  # less is better
    assert "token auth" not in markdown(
        CONTEXT, {k: results[k] for k in ("Distribution", "Dockyard")}
    )
