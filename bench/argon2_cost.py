"""What one password check costs here: Dockyard's Argon2id parameters, timed.

.venv/bin/python bench/argon2_cost.py [--rounds 20]

The number matters because Docker's Basic auth sends the password on every /v2 request;
docs/permissions.md ("Passwords") records the result and why the Basic-auth cache exists.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dockyard.auth.passwords import _HASHER, hash_password, verify_password  # noqa: E402


def measure(rounds: int) -> list[float]:
    """Milliseconds per successful verification, one sample per round."""
    stored = hash_password("a-password-long-enough-to-count")
    verify_password(stored, "a-password-long-enough-to-count")  # warm up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        assert verify_password(stored, "a-password-long-enough-to-count")
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="verifications to time")
    args = parser.parse_args()
    samples = measure(args.rounds)
    print(
        f"Argon2id time_cost={_HASHER.time_cost} memory_cost={_HASHER.memory_cost} KiB "
        f"parallelism={_HASHER.parallelism} hash_len={_HASHER.hash_len} "
        f"salt_len={_HASHER.salt_len}"
    )
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(
        f"verify: median {statistics.median(samples):.1f} ms, "
        f"min {min(samples):.1f} ms, max {max(samples):.1f} ms over {len(samples)} rounds"
    )


if __name__ == "__main__":
    main()
