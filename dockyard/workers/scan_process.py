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

import os
import pickle
import resource
import signal
import subprocess
import sys
import threading
import weakref
from typing import IO, Any

from dockyard.config import Settings
from dockyard.scan.analyzer import Limits
from dockyard.scan.model import Inventory
from dockyard.storage import BlobStore
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


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()


class ScanProcess:
    """A ``Scanner`` (see ``scan_job``) that scans in the child; one scan at a time."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._child: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def __call__(self, store: BlobStore, manifest: dict[str, Any], limits: Limits) -> Inventory:
        # ``store`` is this process's; the child opened the same store from the settings.
        with self._lock:
            child = self._started()
            try:
                _send(child.stdin, (manifest, limits))
                kind, value = pickle.load(child.stdout)  # type: ignore[arg-type]
            except (OSError, EOFError, pickle.UnpicklingError) as error:
                self.close()
                raise ScanProcessError(f"the scan process died ({error!r})") from error
        if kind == "inventory":
            return value
        if kind == "refused":
            raise value  # the scanner's ScanFailed (or ScanUnsupported), as it was raised
        raise ScanProcessError(value)

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (for operators and tests)."""
        return self._child.pid if self._child is not None else None

    def _started(self) -> subprocess.Popen:
        if self._child is not None and self._child.poll() is None:
            return self._child
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        child = subprocess.Popen(
            [sys.executable, "-m", "dockyard.workers.scan_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own autogroup, so its nice value counts (see main)
        )
        weakref.finalize(self, _stop, child)  # a dropped scanner takes its child along
        _send(child.stdin, self._settings)
        self._child = child
        return child

    def close(self) -> None:
        if self._child is not None:
            _stop(self._child)
            self._child = None


def _send(pipe: IO[bytes] | None, value: object) -> None:
    assert pipe is not None
    pickle.dump(value, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.flush()


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
        except Exception as error:  # a bug, not the image's fault: the job is retried
            reply = ("error", f"{type(error).__name__}: {error}")
        _send(replies, reply)


def _limit_memory(limit: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    capped = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (capped, capped))


def main() -> None:
    lower_priority()
    _limit_memory(MEMORY_LIMIT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's; we end on EOF
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot break the pipe
    _serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
