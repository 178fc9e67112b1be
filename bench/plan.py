"""Sizes and counts of one run, kept in one frozen object so every workload and the report
read the same numbers (and the JSON records exactly what was measured)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields, replace

MiB = 1024 * 1024
KiB = 1024


@dataclass(frozen=True)
class Plan:
    blob_mib: int = 512  # workloads 1-3
    chunk_mib: int = 16  # workload 2
    repeat: int = 3  # big pushes and pulls are repeated; the median is reported
    pull_clients: tuple[int, ...] = (1, 4)
    images: int = 50  # workload 4
    layers: int = 20
    layer_kib: int = 256
    image_concurrency: int = 8
    mounts: int = 2000  # workload 5
    mount_concurrency: int = 16
    storm_seconds: float = 10.0  # workloads 6-7: whichever comes first, time or count
    storm_max_requests: int = 200_000
    storm_concurrency: int = 64
    tags: int = 10_000  # workload 8
    repositories: int = 2000  # workload 9
    page_size: int = 100
    setup_concurrency: int = 16  # untimed setup (tags, repositories, mount sources)

    @property
    def blob_bytes(self) -> int:
        return self.blob_mib * MiB

    @property
    def chunk_bytes(self) -> int:
        return self.chunk_mib * MiB

    @property
    def layer_bytes(self) -> int:
        return self.layer_kib * KiB


# A smoke run: every code path, in well under a minute.
QUICK = Plan(
    blob_mib=16,
    chunk_mib=4,
    repeat=1,
    images=5,
    layers=4,
    layer_kib=64,
    mounts=100,
    storm_seconds=1.0,
    storm_max_requests=5000,
    tags=300,
    repositories=150,
)


def add_overrides(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` flag per numeric field, so any size can be changed alone."""
    group = parser.add_argument_group("sizes (override the full or --quick defaults)")
    for f in fields(Plan):
        if f.type in ("int", "float"):
            group.add_argument(
                "--" + f.name.replace("_", "-"),
                type=int if f.type == "int" else float,
                metavar="N",
                help=f"default {f.default} (quick: {getattr(QUICK, f.name)})",
            )


def from_args(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else Plan()
    changes = {
        f.name: getattr(args, f.name)
        for f in fields(Plan)
        if getattr(args, f.name, None) is not None
    }
    plan = replace(plan, **changes)
    if plan.chunk_mib <= 0 or plan.blob_mib <= 0 or plan.repeat <= 0:
        raise SystemExit("blob-mib, chunk-mib and repeat must be positive")
    return plan
