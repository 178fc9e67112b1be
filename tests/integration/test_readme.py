"""The README's shell examples run as written, in order, against a fresh server.

Each ```sh block of README.md runs in one bash session (as a reader pastes them into one
terminal), with `set -e` and pipefail, from a folder that holds the server's `data` and a
`.venv/bin/dockyard`, as the checkout does after `make run`. The only rewrite is the
address: the README's `127.0.0.1:5000` becomes this test's free port. A block preceded by
`<!-- readme-test: skip (reason) -->` is illustrative only (starting the server itself,
docker without a daemon); there are at most two.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.clients import ClientSandbox
from tests.integration.conftest import REPO_ROOT, LiveServer, fail_on_traceback

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

README = REPO_ROOT / "README.md"
README_ADDRESS = "127.0.0.1:5000"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->")
BLOCK = re.compile(r"^```sh\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
MAX_SKIPPED = 2


def shell_blocks(text: str) -> tuple[list[str], list[str]]:
    """(blocks to run, reasons of skipped blocks), in README order."""
    runnable, skipped = [], []
    for block in BLOCK.finditer(text):
        before = text[: block.start()].rstrip().rsplit("\n", 1)[-1]
        marker = SKIP.fullmatch(before.strip())
        if marker:
            skipped.append(marker["reason"])
        else:
            runnable.append(block["body"])
    return runnable, skipped


def test_the_readme_marks_few_blocks_as_skipped() -> None:
    runnable, skipped = shell_blocks(README.read_text())
    assert len(runnable) >= 4
    assert 0 < len(skipped) <= MAX_SKIPPED, skipped
    # A skip marker must sit right above a block; a stray one means a typo or a moved block.
    assert len(SKIP.findall(README.read_text())) == len(skipped)


def test_make_run_installs_only_what_running_needs(tmp_path: Path) -> None:
    """`make run` on a fresh checkout: no test extras, so the first start is quick."""
    venv = tmp_path / "fresh-venv"
    # Under `make test` the outer make's flags (-w prints "Leaving directory") leak in.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    planned = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", f"VENV={venv}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    installs = [line for line in planned.splitlines() if "pip install" in line]
    assert any(line.endswith("install --quiet -e .") for line in installs), planned
    assert not any("[test]" in line for line in installs), planned
    assert planned.rstrip().endswith("-m dockyard serve")
    linted = subprocess.run(
        ["make", "-n", "--no-print-directory", "lint", f"VENV={venv}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert "-e '.[test]'" in linted


def _workdir(root: Path) -> Path:
    """A folder shaped like a checkout after `make run`: `data/` and `.venv/bin/dockyard`."""
    launcher = root / ".venv" / "bin" / "dockyard"
    launcher.parent.mkdir(parents=True)
    launcher.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m dockyard "$@"\n')
    launcher.chmod(0o755)
    return root


def test_readme_shell_blocks_run_as_written(tmp_path: Path) -> None:
    server = LiveServer("dockyard", tmp_path / "server", "", auth="token")
    server.start()
    try:
        sandbox = ClientSandbox(server.host, tmp_path / "clients")
        # No DOCKYARD_* from the test run: the README's own exports must be enough.
        env = {k: v for k, v in sandbox.env.items() if not k.startswith("DOCKYARD_")}
        # No insecure-registry entry: the README's own --tls-verify=false must be enough.
        plain = tmp_path / "registries.conf"
        plain.write_text("unqualified-search-registries = []\n")
        env["CONTAINERS_REGISTRIES_CONF"] = str(plain)
        sandbox.env = env
        blocks, _ = shell_blocks(README.read_text())
        script = "\n".join(blocks).replace(README_ADDRESS, server.host)
        workdir = _workdir(tmp_path / "server")
        path = tmp_path / "readme.sh"
        path.write_text(f"set -euo pipefail -x\ncd {shlex.quote(str(workdir))}\n{script}")
        done = sandbox.run(["bash", str(path)], timeout=150, check=False)
        assert done.returncode == 0, f"README failed:\n{done.stdout}\n{done.stderr[-6000:]}"
        # What the examples did is really there: both tags listed by REST, the dry run answered.
        assert '"name":"v2"' in done.stdout and '"name":"v1"' in done.stdout, done.stdout
        assert '"dry_run":true' in done.stdout, done.stdout
    finally:
        server.stop()
    fail_on_traceback(server.log(), "while the README ran")
