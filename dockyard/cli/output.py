"""How every listing command prints: an aligned table with a header, or JSON for scripts.

One place decides the shape, so every `dockyard ... list` takes the same
`--output/-o table|json` option and prints the same way. Errors go through `fail`:
stderr, a message saying what happened and what to do, exit code 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any, NoReturn

import typer

EXIT_OK = 0
EXIT_FAILED = 1  # the operation failed or what it names does not exist
EXIT_USAGE = 2  # bad options or arguments (click's own code)


class Output(StrEnum):
    table = "table"
    json = "json"


OUTPUT = typer.Option(
    Output.table,
    "--output",
    "-o",
    help="table: aligned columns with a header, for people; json: a list of objects, for scripts.",
    case_sensitive=False,
)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Columns padded to their widest cell; the header is the column names in capitals."""
    lines = [[c.upper() for c in columns]] + [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def render(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], output: Output) -> None:
    """Print ROWS (dicts keyed by COLUMNS) as a table or as a JSON list of objects."""
    if output == Output.json:
        data = [{c: _json_value(r.get(c)) for c in columns} for r in rows]
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(table(rows, columns))


def render_object(row: Mapping[str, Any]) -> None:
    """Print one object as JSON (what a create command answers with '-o json')."""
    typer.echo(json.dumps({k: _json_value(v) for k, v in row.items()}, indent=2))


def human_size(n: float) -> str:
    """Bytes for people: ``512 B``, ``1.5 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{int(n)} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def fail(message: str, hint: str = "") -> NoReturn:
    """Report a failed operation on stderr (what happened, then what to do) and exit 1."""
    typer.secho(f"error: {message}", fg="red", err=True)
    if hint:
        typer.echo(hint, err=True)
    raise typer.Exit(EXIT_FAILED)


@contextmanager
def progress_bar(
    label: str, counts_bytes: bool = False
) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """A rich progress bar on stderr, shown only on a terminal (scripts get clean output);
    yields ``(start(total), advance(done))`` for the long operation to call."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn() if counts_bytes else MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    task = bar.add_task(label, total=None)
    with bar:
        yield (lambda total: bar.update(task, total=total)), (lambda n: bar.advance(task, n))
