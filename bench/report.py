"""The Markdown table: each row a metric, with the ratio oriented so > 1 favours Dockyard.

With a "Dockyard (auth)" run (``bench/run.py --auth``) two more columns show it and its
ratio to auth off, oriented the same way: 1× means token auth costs nothing.

``splice`` puts it into docs/benchmarks.md between the run's marker comments and keeps
everything else (hand-written sections, other runs' tables) as it is.
"""

from __future__ import annotations

# (key, label, unit, higher is better)
ROWS = [
    ("push_mono_MBps", "512 MiB blob push, monolithic", "MB/s", True),
    ("push_chunked_MBps", "512 MiB blob push, 16 MiB chunks", "MB/s", True),
    ("pull_1_MBps", "512 MiB blob pull, 1 client", "MB/s", True),
    ("pull_4_MBps", "512 MiB blob pull, 4 clients", "MB/s", True),
    ("pull_1_cpu_s_per_GB", "server CPU per GB pulled (1 client)", "CPU s/GB", False),
    ("pull_4_cpu_s_per_GB", "server CPU per GB pulled (4 clients)", "CPU s/GB", False),
    ("images_per_s", "image push (20 × 256 KiB layers), concurrency 8", "images/s", True),
    ("images_cpu_ms_per_image", "server CPU per image pushed", "CPU ms", False),
    ("mounts_per_s", "cross-repository blob mount, concurrency 16", "mounts/s", True),
    ("mounts_cpu_ms_per_mount", "server CPU per mount", "CPU ms", False),
    ("manifest_get_rps", "manifest GET by tag, concurrency 64", "req/s", True),
    ("manifest_get_p50_ms", "manifest GET p50", "ms", False),
    ("manifest_get_p99_ms", "manifest GET p99", "ms", False),
    ("blob_head_rps", "blob HEAD, concurrency 64", "req/s", True),
    ("blob_head_p99_ms", "blob HEAD p99", "ms", False),
    ("tag_put_per_s", "tag PUT (an existing manifest), concurrency 16", "tags/s", True),
    ("tags_ms_per_page", "tags list, 10,000 tags in pages of 100: per page", "ms", False),
    ("tags_total_ms", "tags list, all pages", "ms", False),
    ("tags_full_ms", "tags list, 10,000 tags without n (Link followed)", "ms", False),
    ("catalog_total_ms", "catalog of 2,000 repositories, pages of 100", "ms", False),
    ("push_rss_growth_MiB", "server RSS growth during the 512 MiB push", "MiB", False),
    ("peak_rss_MiB", "server peak RSS over the whole run", "MiB", False),
]


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _ratio(base: float | None, other: float | None, higher: bool) -> str:
    """``other`` against ``base``, above 1× when ``other`` is better."""
    if not base or not other:
        return "–"
    return f"{(other / base if higher else base / other):.2f}×"


def markdown(context: dict, results: dict) -> str:
    base, ours = results.get("Distribution", {}), results.get("Dockyard", {})
    authed = results.get("Dockyard (auth)")
    postgres = results.get("Dockyard (PostgreSQL)")
    head = "| workload | unit | Distribution | Dockyard | Dockyard advantage |"
    rule = "|---|---|---:|---:|---:|"
    extra = []  # more Dockyard runs, each compared with the plain one
    if authed is not None:
        extra.append(authed)
        head += " Dockyard, token auth | auth on ÷ off |"
    if postgres is not None:
        extra.append(postgres)
        head += " Dockyard, PostgreSQL | PostgreSQL ÷ SQLite |"
    rule += "---:|---:|" * len(extra)
    lines = [head, rule]
    for key, label, unit, higher in ROWS:
        a, b = base.get(key), ours.get(key)
        line = f"| {label} | {unit} | {_fmt(a)} | {_fmt(b)} | {_ratio(a, b, higher)} |"
        for other in extra:
            c = other.get(key)
            line += f" {_fmt(c)} | {_ratio(b, c, higher)} |"
        lines.append(line)
    header = (
        f"Measured {context['date']} by `{context['command']}` on {context['cpus']} cores, "
        f"{context['memory_GiB']} GiB, Linux {context['kernel']}, Python {context['python']}; "
        f"Distribution: `{context['distribution']}`; Dockyard with {context['workers']} "
        "worker process(es), SQLite and the filesystem driver, auth off (Distribution has "
        "none)"
        + (
            "; and again with token auth on, every request carrying a bearer token from "
            "/jwt/auth for its repositories (fetched before the clock starts)"
            if authed is not None
            else ""
        )
        + (
            "; and again on PostgreSQL (the local server, a fresh database) instead of SQLite"
            if postgres is not None
            else ""
        )
        + ". Both servers ran in the same run, one after the other, with the same client "
        "(curl for bulk bytes, aiohttp for request storms, ApacheBench for GET/HEAD). "
        '"Dockyard advantage" is Dockyard ÷ Distribution where more is better and '
        "Distribution ÷ Dockyard where less is better, so above 1× always favours Dockyard.\n"
    )
    return header + "\n" + "\n".join(lines) + "\n"


def markers(workers: int) -> tuple[str, str]:
    """The comments around one run's block; each worker count has its own."""
    name = "bench/run.py" if workers == 1 else f"bench/run.py --workers {workers}"
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"


def splice(document: str | None, block: str, workers: int) -> str:
    """``document`` with the block between the run's markers replaced by ``block``.

    No document yet: a new one holding just the block. A document without the markers
    is refused rather than overwritten, so no hand-written text is ever lost."""
    begin, end = markers(workers)
    fenced = f"{begin}\n\n{block.strip()}\n\n{end}"  # blank lines: the table stays a table
    if document is None:
        return f"# Benchmarks\n\n{fenced}\n"
    if document.count(begin) != 1 or document.count(end) != 1:
        raise ValueError(f"expected one {begin} and one {end}; add them where the table goes")
    head, rest = document.split(begin)
    _, tail = rest.split(end)
    return head + fenced + tail
