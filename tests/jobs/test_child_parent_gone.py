"""A worker child (scanner, garbage collector) whose parent died mid-reply ends quietly:
no traceback in the server's log for a crash that was not the child's."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import sys, time
    from dockyard.workers.child import child_main, send

    def serve(requests, replies):
        requests.read(1)        # the parent's request
        time.sleep(0.5)         # ... during which the parent dies
        send(replies, b"x" * 1_000_000)

    child_main(serve)
    """
)


def test_a_reply_to_a_dead_parent_ends_the_child_quietly() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(b"r")
    child.stdin.flush()
    child.stdout.close()  # the parent is gone: nobody reads the reply
    _, errors = child.communicate(timeout=30)
    assert child.returncode == 0
    assert b"Traceback" not in errors and b"BrokenPipe" not in errors, errors.decode()
