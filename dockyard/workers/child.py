"""A long-lived helper process, spoken to with pickles over its stdin and stdout.

GC passes and scans run in such children (``gc_process``, ``scan_process``): each has a
GIL of its own, so its CPU work never holds up request handling, and whatever kills it
(a crash, the OOM killer) never kills the server. The child is ``python -m MODULE``; it
reads the settings first, then one request at a time, and answers each with a
``(kind, value)`` pair. Both ends are this program, so pickles are safe here.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from typing import IO

from dockyard.config import Settings


class ChildGone(RuntimeError):
    """The child died or its pipe broke; the next call starts a new one."""


class PickleChild:
    """One child running ``python -m module``, started on first use and again after it
    dies; one request at a time."""

    def __init__(self, module: str, settings: Settings) -> None:
        self._module = module
        self._settings = settings
        self._child: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def call(self, request: object) -> tuple[str, object]:
        with self._lock:
            child = self._started()
            try:
                send(child.stdin, request)
                kind, value = pickle.load(child.stdout)  # type: ignore[arg-type]
            except (OSError, EOFError, pickle.UnpicklingError) as error:
                self.close()
                raise ChildGone(repr(error)) from error
        return kind, value

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (for operators and tests)."""
        return self._child.pid if self._child is not None else None

    def _started(self) -> subprocess.Popen:
        if self._child is not None and self._child.poll() is None:
            return self._child
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        child = subprocess.Popen(
            [sys.executable, "-m", self._module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            # Its own session: Ctrl-C in a terminal reaches the server, not the child, and
            # the child gets an autogroup of its own, so a nice value it sets counts.
            start_new_session=True,
        )
        weakref.finalize(self, _stop, child)  # a dropped owner takes its child along
        send(child.stdin, self._settings)
        self._child = child
        return child

    def close(self) -> None:
        if self._child is not None:
            _stop(self._child)
            self._child = None


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()


def send(pipe: IO[bytes] | None, value: object) -> None:
    assert pipe is not None
    pickle.dump(value, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.flush()


def child_main(serve: Callable[[IO[bytes], IO[bytes]], None]) -> None:
    """The child's side: requests on stdin, replies on a private copy of stdout (which
    then points at stderr, so a stray print cannot break the pipe). Ctrl-C belongs to the
    parent; the child ends when its stdin closes, or quietly when the parent is gone
    (killed mid-reply: nobody is left to read it, and a traceback would only alarm)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        serve(sys.stdin.buffer, replies)
    except BrokenPipeError:
        os._exit(0)  # not sys.exit: flushing the dead pipe at exit would raise again
