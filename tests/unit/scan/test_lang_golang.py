"""The Go analyzer reads the build info of real Go binaries from a forward-only stream."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dockyard.scan.analyzer import Found, Limits, Result
from dockyard.scan.analyzers.golang import GoAnalyzer, Unreadable, stdlib_version
from dockyard.scan.walker import Walker
from dockyard.storage.filesystem import FilesystemStore
from tests.scan.image import Image, file

LAYER = "sha256:" + "c" * 64
EXEC, PLAIN = 0o100755, 0o100644
START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")  # the linker's module-info sentinels
END = bytes.fromhex("f932433186182072008242104116d8f2")

GO_MOD = """module example.com/hello

go 1.19

require (
\texample.com/greet v1.2.3
\texample.com/old v1.0.0
\texample.com/local v0.1.0
)

replace example.com/old v1.0.0 => example.com/new v1.1.0

replace example.com/local v0.1.0 => ./local
"""
MODULES_TXT = """# example.com/greet v1.2.3
## explicit
example.com/greet
# example.com/local v0.1.0 => ./local
## explicit
example.com/local
# example.com/old v1.0.0 => example.com/new v1.1.0
## explicit
example.com/old
"""
MAIN_GO = """package main

import (
\t"fmt"

\t"example.com/greet"
\t"example.com/local"
\t"example.com/old"
)

func main() { fmt.Println(greet.Hello(), old.Name(), local.Here()) }
"""


class Trickle(io.RawIOBase):
    """A stream that hands out a few bytes per read, as a decompressor may."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._step if n < 0 else min(n, self._step)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk


def _go_toolchain() -> str:
    go = shutil.which("go")
    assert go, "a Go toolchain is needed: scripts/ensure-system.sh installs golang-go"
    return go


def _go_version_of(binary: str) -> str:
    """What the Go toolchain itself says, to compare against."""
    out = subprocess.run(
        [_go_toolchain(), "version", "-m", binary], capture_output=True, text=True, check=True
    )
    return out.stdout.split("\n")[0].split(": ")[1].split(" ")[0]


@pytest.fixture(scope="module")
def hello(tmp_path_factory) -> Path:
    """A Go program built here: two vendored dependencies, one replaced by another module
    and one by a local directory; no network, no module proxy."""
    src = tmp_path_factory.mktemp("hello")
    files = {
        "go.mod": GO_MOD,
        "main.go": MAIN_GO,
        "vendor/modules.txt": MODULES_TXT,
        "vendor/example.com/greet/greet.go": 'package greet\n\nfunc Hello() string { return "" }\n',
        "vendor/example.com/old/old.go": 'package old\n\nfunc Name() string { return "new" }\n',
        "vendor/example.com/local/local.go": 'package local\n\nfunc Here() string { return "" }\n',
        "local/go.mod": "module example.com/local\n\ngo 1.19\n",
        "local/local.go": 'package local\n\nfunc Here() string { return "" }\n',
    }
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    env = dict(
        os.environ,
        GOFLAGS="-mod=vendor",
        GOPROXY="off",
        CGO_ENABLED="0",
        GOCACHE=str(src / ".cache"),
        GOPATH=str(src / ".gopath"),
    )
    subprocess.run([_go_toolchain(), "build", "-o", "hello", "."], cwd=src, env=env, check=True)
    return src / "hello"


def _read(data: bytes, mode: int = EXEC, limits: Limits = Limits(), step: int = 0) -> Result:
    analyzer = GoAnalyzer()
    path = "usr/local/bin/app"
    found = {}
    if analyzer.wants(path, mode, len(data)):
        stream = Trickle(data, step) if step else io.BytesIO(data)
        value = analyzer.read(path, stream, len(data), limits)  # type: ignore[arg-type]
        if value is not None:
            found[path] = Found(LAYER, value)
    return analyzer.finish(found, None)


def _rows(result: Result) -> set[tuple[str, str]]:
    assert {(p.ecosystem, p.purl_type, p.layer_digest) for p in result.packages} <= {
        ("Go", "golang", LAYER)
    }
    return {(p.name, p.version) for p in result.packages}


def test_a_binary_built_here_reports_its_modules_and_toolchain(hello: Path):
    data = hello.read_bytes()
    stdlib = stdlib_version(_go_version_of(str(hello)))
    expected = {("example.com/greet", "v1.2.3"), ("example.com/new", "v1.1.0"), ("stdlib", stdlib)}
    result = _read(data)
    # The main module is a (devel) build and the local replacement has no version: neither
    # can be matched, so neither is reported, and example.com/old became example.com/new.
    assert _rows(result) == expected
    assert result.unsupported == []
    greet = next(p for p in result.packages if p.name == "example.com/greet")
    assert (greet.namespace, greet.path) == ("example.com", "usr/local/bin/app")
    # The same answer when the stream trickles in odd-sized pieces.
    assert _rows(_read(data, step=4093)) == expected


def test_files_that_are_not_go_binaries_report_nothing(hello: Path):
    data = hello.read_bytes()
    assert _read(data, mode=PLAIN).packages == []  # not executable: never read
    script = b"#!/bin/sh\n" + b"# \xff Go buildinf:\n" * 1000
    assert _rows(_read(script)) == set()
    assert _rows(_read(b"\x7fELF" + b"\0" * 100)) == set()  # too small to be a Go program
    assert _rows(_read(Path("/bin/sh").read_bytes())) == set()  # a real C binary


@pytest.mark.parametrize("binary", ["/usr/bin/docker-registry", "/usr/bin/skopeo"])
def test_real_distribution_binaries_report_their_toolchain(binary: str):
    """Debian builds these in GOPATH mode: no module lines, but the toolchain is there."""
    result = _read(Path(binary).read_bytes())
    assert _rows(result) == {("stdlib", stdlib_version(_go_version_of(binary)))}


def _binary(version: bytes, modinfo: bytes, *, flags: int = 2, prefix: bytes = b"") -> bytes:
    """An ELF-like file with a build-info header at a 16-byte aligned offset after ``prefix``."""
    head = b"\x7fELF" + b"\0" * 8188 + prefix
    head += b"\0" * (-len(head) % 16)
    header = b"\xff Go buildinf:" + bytes([8, flags]) + b"\0" * 16
    body = bytes([len(version)]) + version + _uvarint(len(modinfo)) + modinfo
    return head + header + body + b"\0" * 8192


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _modinfo(*lines: str) -> bytes:
    return START + "".join(line + "\n" for line in lines).encode() + END


def test_a_versioned_main_module_and_replacements_are_reported():
    info = _modinfo(
        "path\texample.com/app/cmd/app",
        "mod\texample.com/app\tv1.4.0\th1:abc=",
        "dep\tgolang.org/x/net\tv0.17.0\th1:def=",
        "=>\tgolang.org/x/net\tv0.19.0\th1:ghi=",
        "dep\tgithub.com/acme/forked\tv1.0.0\th1:jkl=",
        "=>\t../forked\t",
        "build\tCGO_ENABLED=0",
    )
    # A string constant holding the magic, before the real header, is passed over.
    data = _binary(b"go1.21.5", info, prefix=b"xx\xff Go buildinf:\x41\x42" + b"\0" * 30)
    assert _rows(_read(data)) == {
        ("example.com/app", "v1.4.0"),
        ("golang.org/x/net", "v0.19.0"),
        ("stdlib", "1.21.5"),
    }


def test_a_pre_118_binary_is_unsupported_not_empty():
    result = _read(_binary(b"", b"", flags=0))
    assert result.packages == []
    assert result.unsupported == [
        "usr/local/bin/app: Go binary built before Go 1.18; its module list is not read"
    ]


def test_a_go_binary_beyond_the_read_limit_is_said_plainly(hello: Path):
    data = hello.read_bytes()
    limits = Limits(max_file_bytes=len(data) // 2)
    assert data.find(b"\xff Go buildinf:") > limits.max_file_bytes  # data follows code
    result = _read(data, limits=limits)
    assert result.packages == []
    assert result.unsupported == [
        f"usr/local/bin/app: Go binary larger than the {limits.max_file_bytes}-byte read limit; "
        "not read to its end"
    ]
    # A large C program is no Go binary: nothing to say about it.
    sh = Path("/bin/sh").read_bytes()
    assert _read(sh, limits=Limits(max_file_bytes=len(sh) // 2)) == Result()


@pytest.mark.parametrize("limit", [64 * 1024, 100_003])  # on and off the buffers' 8 KiB grain
def test_through_the_walker_a_binary_past_the_limit_never_fails_the_scan(
    hello: Path, tmp_path: Path, limit: int
):
    data, sh = hello.read_bytes(), Path("/bin/sh").read_bytes()
    assert len(data) > limit and len(sh) > limit
    image = Image(FilesystemStore(tmp_path / "store"))
    image.layer([file("usr/local/bin/app", data, mode=0o755), file("bin/sh", sh, mode=0o755)])
    walked = Walker(image.store, [GoAnalyzer()], Limits(max_file_bytes=limit)).walk(image.layers)
    found = {path: kept.value for path, kept in walked.found["go"].items()}
    assert found == {
        "usr/local/bin/app": Unreadable(
            f"Go binary larger than the {limit}-byte read limit; not read to its end"
        )
    }


@pytest.mark.parametrize(
    ("go", "osv"),
    [
        ("go1.21.5", "1.21.5"),
        ("go1.19", "1.19.0"),
        ("go1.21rc2", "1.21.0-rc.2"),
        ("go1.20beta1", "1.20.0-beta.1"),
        ("go1.23.1 X:nocoverageredesign", "1.23.1"),
        ("devel go1.22-abcdef Tue", None),
    ],
)
def test_toolchain_versions_are_spelled_as_osv_spells_stdlib(go: str, osv: str | None):
    assert stdlib_version(go) == osv
