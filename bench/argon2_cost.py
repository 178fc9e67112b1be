"""How long one password verification costs with Dockyard's Argon2id parameters.

Run: .venv/bin/python bench/argon2_cost.py  (docs/permissions.md quotes the figures)
"""

from __future__ import annotations

import statistics
import time

from argon2 import PasswordHasher

from dockyard.auth.passwords import hash_password, verify_password


def main(rounds: int = 30) -> None:
    params = PasswordHasher()
    stored = hash_password("correct-horse-battery-staple")
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        assert verify_password(stored, "correct-horse-battery-staple")
        timings.append((time.perf_counter() - start) * 1000)
    print(
        f"argon2id time_cost={params.time_cost} memory_cost={params.memory_cost} KiB "
        f"parallelism={params.parallelism}: median {statistics.median(timings):.1f} ms, "
        f"max {max(timings):.1f} ms per verification over {rounds} rounds"
    )


if __name__ == "__main__":
    main()
