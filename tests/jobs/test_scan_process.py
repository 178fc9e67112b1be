"""Scans run in a low-priority child process and come back as if run in place."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from dockyard.config import Settings
from dockyard.scan.analyzer import Limits
from dockyard.scan.scanner import ScanFailed, ScanUnsupported, scan_image
from dockyard.storage import StorageUnavailable, open_store
from dockyard.workers.priority import NICENESS
from dockyard.workers.scan_process import MEMORY_LIMIT, ScanProcess, ScanProcessError
from tests.scan.image import Image, file, whiteout
from tests.scan.test_os_packages import DEBIAN_OS_RELEASE, STATUS_BASE

SITE = "usr/local/lib/python3.11/site-packages"
METADATA = "Metadata-Version: 2.1\nName: {}\nVersion: {}\n\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def image(settings: Settings) -> Image:
    image = Image(open_store(settings))  # the store the child opens from the same settings
    image.layer(
        [
            file("etc/os-release", DEBIAN_OS_RELEASE),
            file("var/lib/dpkg/status", STATUS_BASE),
            file(
                f"{SITE}/requests-2.19.1.dist-info/METADATA", METADATA.format("requests", "2.19.1")
            ),
            file(f"{SITE}/idna-3.7.dist-info/METADATA", METADATA.format("idna", "3.7")),
        ]
    )
    image.layer([whiteout(f"{SITE}/idna-3.7.dist-info")], compression="zstd")
    return image


@pytest.fixture
def scanner(settings: Settings):  # noqa: ANN201
    scanner = ScanProcess(settings)
    yield scanner
    scanner.close()


def test_the_inventory_is_the_one_a_scan_in_place_finds(scanner, image: Image) -> None:  # noqa: ANN001
    limits = Limits()
    inventory = scanner(image.store, image.manifest(), limits)
    assert inventory == scan_image(image.store, image.manifest(), limits)
    assert {p.name for p in inventory.packages} == {"base-files", "libssl3", "requests"}
    assert scanner.pid is not None and scanner.pid != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, scanner.pid) == NICENESS
    assert os.sched_getscheduler(scanner.pid) == os.SCHED_IDLE  # yields to any server thread
    assert os.getsid(scanner.pid) == scanner.pid  # a session, hence an autogroup, of its own
    autogroup = Path(f"/proc/{scanner.pid}/autogroup")
    if autogroup.exists():  # kernels with CONFIG_SCHED_AUTOGROUP
        assert autogroup.read_text().split()[-1] == str(NICENESS)


def test_a_refused_image_raises_the_scanners_own_failure(scanner, image: Image) -> None:  # noqa: ANN001
    broken = image.manifest()
    broken["layers"].append({"digest": "sha256:" + "0" * 64, "size": 1})
    with pytest.raises(ScanFailed) as failed:
        scanner(image.store, broken, Limits())
    assert failed.value.reason == f"layer sha256:{'0' * 64} is missing from storage"
    artifact = {**image.manifest(), "config": {"mediaType": "application/vnd.example+json"}}
    with pytest.raises(ScanUnsupported):
        scanner(image.store, artifact, Limits())
    assert scanner(image.store, image.manifest(), Limits()).os is not None  # still serving


def test_a_child_killed_mid_scan_fails_that_scan_only(scanner, image: Image) -> None:  # noqa: ANN001
    scanner(image.store, image.manifest(), Limits())
    first = scanner.pid
    assert first is not None
    os.kill(first, signal.SIGSTOP)  # it cannot answer before the kill below
    killer = threading.Timer(0.3, os.kill, (first, signal.SIGKILL))  # as the OOM killer would
    killer.start()
    with pytest.raises(ScanProcessError):
        scanner(image.store, image.manifest(), Limits())
    killer.join()
    inventory = scanner(image.store, image.manifest(), Limits())
    assert {p.name for p in inventory.packages} == {"base-files", "libssl3", "requests"}
    assert scanner.pid not in (None, first)


def test_a_child_that_died_while_idle_is_replaced_without_a_failure(scanner, image: Image) -> None:  # noqa: ANN001
    scanner(image.store, image.manifest(), Limits())
    first = scanner.pid
    os.kill(first, signal.SIGKILL)  # type: ignore[arg-type]
    deadline = time.monotonic() + 10
    while Path(f"/proc/{first}/stat").read_text().split(") ")[1][0] != "Z":  # dead, unreaped
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert scanner(image.store, image.manifest(), Limits()).os is not None
    assert scanner.pid not in (None, first)


def test_closing_ends_the_child(scanner, image: Image) -> None:  # noqa: ANN001
    scanner(image.store, image.manifest(), Limits())
    pid = scanner.pid
    scanner.close()
    assert scanner.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # type: ignore[arg-type]


def test_a_file_too_big_to_parse_within_the_memory_cap_is_listed_not_fatal(
    scanner,
    image: Image,  # noqa: ANN001
) -> None:
    # One 40 MiB header line of non-ASCII bytes: the email parser needs ~13 times that.
    huge = b"Metadata-Version: 2.1\nName: huge\nVersion: 1\nX: " + b"\xe9" * 40 * 2**20 + b"\n\n"
    layer = image.layer([file(f"{SITE}/huge-1.dist-info/METADATA", huge)])
    inventory = scanner(image.store, image.manifest(), Limits())
    assert {p.name for p in inventory.packages} == {"base-files", "libssl3", "requests"}
    assert inventory.unsupported == (
        f"{SITE}/huge-1.dist-info/METADATA in layer {layer}: "
        "python could not read it (MemoryError)",
    )
    limits = Path(f"/proc/{scanner.pid}/limits").read_text()
    data = next(line for line in limits.splitlines() if line.startswith("Max data size"))
    assert data.split()[3:5] == [str(MEMORY_LIMIT), str(MEMORY_LIMIT)]
    status = Path(f"/proc/{scanner.pid}/status").read_text()
    peak_kib = int(next(ln for ln in status.splitlines() if ln.startswith("VmHWM")).split()[1])
    assert peak_kib < 300 * 1024


def test_a_store_outage_comes_back_as_storage_unavailable_not_a_crash(tmp_path: Path) -> None:
    """The job worker logs an outage in one line and retries; a crash gets a traceback."""
    down = Settings(
        data_dir=tmp_path,
        storage="s3",
        s3_endpoint="http://127.0.0.1:9",  # nothing listens on the discard port
        s3_bucket="bucket",
        s3_access_key="key",
        s3_secret_key="secret-key",
    )
    scanner = ScanProcess(down)
    try:
        layer = {"digest": "sha256:" + "1" * 64, "size": 1}
        manifest = {"config": {"mediaType": "application/vnd.oci.image.config.v1+json"}}
        with pytest.raises(StorageUnavailable, match="unreachable"):
            scanner(
                open_store(Settings(data_dir=tmp_path)), {**manifest, "layers": [layer]}, Limits()
            )
        assert scanner.pid is not None  # the child lives on for the next scan
    finally:
        scanner.close()
