"""Scans run in a child process at the lowest CPU priority, never on a server's threads.

Reading layers is CPU work in Python (inflating, tar headers, parsing metadata). On a
thread of a server process it held the GIL against request handling and took a core
from pushes and pulls: with scans running, pushes and manifest GETs ran at 0.43-0.56x
(``bench/scan_impact.py``, docs/benchmarks.md "Scanning"). So each job worker hands the
scan to one long-lived child (started on first use, started again if it dies) that runs
at the lowest priority (``priority.lower_priority``): the kernel gives it only the CPU that serving
leaves, and its GIL is its own. It also reads its layers through ``quiet.QuietStore``,
which pauses while the rest of the machine is busy: priority alone cannot stop a scan on
the spare core from slowing the busy one next to it.
Its memory is capped (``MEMORY_LIMIT``): a file too big to parse within it is listed as not
read, and whatever else goes wrong there kills the child, never the server. The job thread
only waits on a pipe; matching and saving the findings stay in the job worker.

The child is ``python -m dockyard.workers.scan_process``: it reads the settings, then
``(manifest, limits)`` requests, from stdin, and answers each with the inventory or the
scanner's ``ScanFailed``, pickled (both ends are this program).
"""

from __future__ import annotations

import pickle
import resource
from typing import IO, Any

from dockyard.config import Settings
from dockyard.scan.analyzer import Limits
from dockyard.scan.model import Inventory
from dockyard.storage import BlobStore, StorageUnavailable
from dockyard.workers.child import ChildGone, PickleChild, child_main, send
from dockyard.workers.priority import lower_priority
from dockyard.workers.quiet import QuietStore, QuietWatch

# Heap and anonymous mappings of the child (RLIMIT_DATA; Linux counts mmap since 4.7).
# A realistic 1 GiB image peaks near 120 MiB and a 64 MiB fat jar nesting another near
# 150 MiB; a hostile 63 MiB METADATA header or package.json of tiny JSON values reached
# 850 and 410 MiB. Past the limit the analyzer's read raises MemoryError, the walker lists
# the file as not read and goes on, so the child's RSS stays under the 300 MiB target.
MEMORY_LIMIT = 256 * 1024**2


class ScanProcessError(RuntimeError):
    """The child died or broke (a crash, the OOM killer): the job fails and is retried."""


class ScanProcess:
    """A ``Scanner`` (see ``scan_job``) that scans in the child; one scan at a time."""

    def __init__(self, settings: Settings) -> None:
        self._child = PickleChild("dockyard.workers.scan_process", settings)

    def __call__(self, store: BlobStore, manifest: dict[str, Any], limits: Limits) -> Inventory:
        # ``store`` is this process's; the child opened the same store from the settings.
        try:
            kind, value = self._child.call((manifest, limits))
        except ChildGone as error:
            raise ScanProcessError(f"the scan process died ({error})") from error
        if kind == "inventory":
            return value  # type: ignore[return-value]
        if kind == "refused":
            raise value  # type: ignore[misc]  # the scanner's ScanFailed, as it was raised
        if kind == "unavailable":
            raise StorageUnavailable(str(value))  # an outage, not a bug: retried quietly
        raise ScanProcessError(str(value))

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (for operators and tests)."""
        return self._child.pid

    def close(self) -> None:
        self._child.close()


def _serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    from dockyard.scan.scanner import ScanFailed, scan_image
    from dockyard.storage import open_store

    store = QuietStore(open_store(pickle.load(requests)), QuietWatch())
    while True:
        try:
            manifest, limits = pickle.load(requests)
        except EOFError:
            return  # the job worker is gone
        try:
            inventory = scan_image(store, manifest, limits)  # type: ignore[arg-type]  # reads only
            reply: tuple[str, object] = ("inventory", inventory)
        except ScanFailed as refused:
            reply = ("refused", refused)
        except StorageUnavailable as outage:
            reply = ("unavailable", str(outage))
        except Exception as error:  # a bug, not the image's fault: the job is retried
            reply = ("error", f"{type(error).__name__}: {error}")
        send(replies, reply)


def _limit_memory(limit: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    capped = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (capped, capped))


def main() -> None:
    lower_priority()
    _limit_memory(MEMORY_LIMIT)
    child_main(_serve)


if __name__ == "__main__":
    main()
