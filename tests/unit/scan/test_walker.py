"""Layer semantics and limits, with an analyzer that keeps the text of every .txt file."""

from __future__ import annotations

import gc
import gzip
import io
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import pytest
import zstandard

from dockyard.scan.analyzer import Found, Limits, Result
from dockyard.scan.model import OSInfo
from dockyard.scan.scanner import ScanFailed, ScanUnsupported, scan_image
from dockyard.scan.walker import Walker
from dockyard.storage.filesystem import FilesystemStore
from tests.scan.image import (
    Image,
    directory,
    file,
    hardlink,
    opaque,
    symlink,
    tar,
    whiteout,
)


class Texts:
    name = "texts"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path.endswith(".txt")

    def read(self, path: str, stream: BinaryIO, size: int, limits: Limits) -> object | None:
        text = stream.read().decode()
        if text == "boom":
            raise ValueError("not what I expected")
        return text

    def finish(self, found: Mapping[str, Found], os: OSInfo | None) -> Result:
        return Result()


class Greedy(Texts):
    """A second analyzer wanting the same files: both must get the whole bytes."""

    name = "greedy"


@pytest.fixture
def image(tmp_path: Path) -> Image:
    return Image(FilesystemStore(tmp_path / "store"))


def walk(image: Image, limits: Limits = Limits()) -> dict[str, tuple[str, str]]:
    walked = Walker(image.store, [Texts()], limits).walk(image.layers)
    return {
        path: (found.value, found.layer_digest) for path, found in walked.found["texts"].items()
    }


def texts(image: Image, limits: Limits = Limits()) -> dict[str, str]:
    return {path: value for path, (value, _) in walk(image, limits).items()}


def test_paths_are_normalised_and_later_layers_replace_files(image: Image) -> None:
    first = image.layer([file("./a/one.txt", "1"), file("/a/two.txt", "2"), file("b.bin", "x")])
    second = image.layer([file("a/two.txt", "2b")], compression="zstd")
    assert walk(image) == {"a/one.txt": ("1", first), "a/two.txt": ("2b", second)}


def test_a_whiteout_hides_a_file_and_a_whole_directory(image: Image) -> None:
    image.layer(
        [
            file("site/pkg-1.0.dist-info/METADATA.txt", "pkg"),
            file("site/pkg-1.0.dist-info/RECORD.txt", "rec"),
            file("site/pkg-10.dist-info/METADATA.txt", "pkg10"),  # a sibling with a prefix
            file("etc/keep.txt", "keep"),
            file("etc/gone.txt", "gone"),
        ]
    )
    image.layer([whiteout("site/pkg-1.0.dist-info"), whiteout("etc/gone.txt")])
    assert texts(image) == {"site/pkg-10.dist-info/METADATA.txt": "pkg10", "etc/keep.txt": "keep"}


def test_a_whiteout_does_not_hide_its_own_layer(image: Image) -> None:
    image.layer([file("etc/a.txt", "old")])
    image.layer([file("etc/a.txt", "new"), whiteout("etc/a.txt")])
    assert texts(image) == {"etc/a.txt": "new"}


def test_an_opaque_directory_drops_what_lower_layers_put_in_it(image: Image) -> None:
    image.layer(
        [file("app/old.txt", "old"), file("app/sub/deep.txt", "deep"), file("top.txt", "t")]
    )
    image.layer([directory("app"), opaque("app"), file("app/new.txt", "new")])
    assert texts(image) == {"app/new.txt": "new", "top.txt": "t"}


def test_a_deleted_file_can_come_back_in_a_later_layer(image: Image) -> None:
    image.layer([file("a.txt", "1")])
    image.layer([whiteout("a.txt")])
    third = image.layer([file("a.txt", "3")])
    assert walk(image) == {"a.txt": ("3", third)}


def test_a_file_replaced_by_a_symlink_is_gone(image: Image) -> None:
    image.layer([file("etc/a.txt", "1")])
    image.layer([symlink("etc/a.txt", "../b.txt")])
    assert texts(image) == {}


def test_a_hard_link_shares_the_value_of_its_target(image: Image) -> None:
    image.layer([file("usr/a.txt", "same"), hardlink("usr/b.txt", "usr/a.txt")])
    assert texts(image) == {"usr/a.txt": "same", "usr/b.txt": "same"}


def test_two_analyzers_wanting_one_file_both_read_it(image: Image) -> None:
    image.layer([file("a.txt", "shared")])
    walked = Walker(image.store, [Texts(), Greedy()], Limits()).walk(image.layers)
    assert walked.found["texts"]["a.txt"].value == "shared"
    assert walked.found["greedy"]["a.txt"].value == "shared"


def test_a_file_an_analyzer_cannot_read_is_noted_not_fatal(image: Image) -> None:
    layer = image.layer([file("bad.txt", "boom"), file("good.txt", "fine")])
    walked = Walker(image.store, [Texts()], Limits()).walk(image.layers)
    assert {p: f.value for p, f in walked.found["texts"].items()} == {"good.txt": "fine"}
    assert walked.notes == [
        f"bad.txt in layer {layer}: texts could not read it (not what I expected)"
    ]


def test_an_unreadable_file_removed_later_is_not_noted(image: Image) -> None:
    image.layer([file("bad.txt", "boom"), file("worse.txt", "boom")])
    image.layer([whiteout("bad.txt"), file("worse.txt", "fixed")])
    walked = Walker(image.store, [Texts()], Limits()).walk(image.layers)
    assert {p: f.value for p, f in walked.found["texts"].items()} == {"worse.txt": "fixed"}
    assert walked.notes == []


def test_a_path_leaving_the_root_fails_the_scan(image: Image) -> None:
    layer = image.layer([file("a/../../etc/x.txt", "x")])
    with pytest.raises(ScanFailed) as failed:
        walk(image)
    assert (
        failed.value.reason == f"layer {layer} has a path that leaves the root: 'a/../../etc/x.txt'"
    )


def test_too_many_files_in_a_layer(image: Image) -> None:
    layer = image.layer([file(f"f{i}", "") for i in range(11)])
    with pytest.raises(ScanFailed) as failed:
        walk(image, Limits(max_files_per_layer=10))
    assert failed.value.reason == f"layer {layer} has more than 10 files"


def test_a_file_larger_than_the_read_limit(image: Image) -> None:
    layer = image.layer([file("big.txt", "x" * 5000)])
    with pytest.raises(ScanFailed) as failed:
        walk(image, Limits(max_file_bytes=4096))
    assert failed.value.reason == (
        f"big.txt in layer {layer} is larger than the 4096-byte limit for a file"
    )


def test_a_huge_tar_header_is_refused_before_it_is_buffered(image: Image) -> None:
    info, body = file("a.txt", "x")
    info.pax_headers = {"comment": "y" * 5000}
    layer = image.layer([(info, body)])
    with pytest.raises(ScanFailed) as failed:
        walk(image, Limits(max_file_bytes=4096))
    assert failed.value.reason.startswith(f"layer {layer} has a 50")
    assert failed.value.reason.endswith("-byte tar header, more than 4096 bytes")


def test_tar_headers_are_not_kept_while_walking(image: Image) -> None:
    image.layer([file(f"f{i}", "") for i in range(50)] + [file("z.txt", "last")])
    seen: list[int] = []

    def headers_alive() -> int:
        gc.collect()
        return sum(isinstance(o, tarfile.TarInfo) for o in gc.get_objects())

    before = headers_alive()  # other tests may leave some behind; count only ours

    class Watch(Texts):
        def wants(self, path: str, mode: int, size: int) -> bool:
            if path == "z.txt":  # the last entry: were the 50 before it kept?
                seen.append(headers_alive() - before)
            return False

    Walker(image.store, [Watch()], Limits()).walk(image.layers)
    assert max(seen) < 5


def test_a_big_file_nobody_wants_is_skipped_not_read(image: Image) -> None:
    image.layer([file("big.bin", "x" * 5000), file("a.txt", "ok")])
    assert texts(image, Limits(max_file_bytes=4096)) == {"a.txt": "ok"}


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_a_compression_bomb_stops_at_the_layer_limit(image: Image, compression: str) -> None:
    # 64 MiB of zeros compresses to a few KiB; the walk must stop at 1 MiB uncompressed
    info = tarfile.TarInfo("zeros.bin")
    info.size = 64 * 1024 * 1024
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        archive.addfile(info, io.BytesIO(bytes(info.size)))
    data = raw.getvalue()
    blob = gzip.compress(data) if compression == "gzip" else zstandard.compress(data)
    assert len(blob) < 1024 * 1024
    layer = image.raw_layer(blob)
    with pytest.raises(ScanFailed) as failed:
        walk(image, Limits(max_layer_bytes=1024 * 1024))
    assert failed.value.reason == f"layer {layer} is larger than 1048576 bytes uncompressed"


def test_layers_that_are_not_tar_archives_fail_with_a_reason(image: Image) -> None:
    layer = image.raw_layer(gzip.compress(b"this is not a tar archive" * 100))
    with pytest.raises(ScanFailed) as failed:
        walk(image)
    assert failed.value.reason.startswith(f"layer {layer} is not a readable tar archive")


def test_a_truncated_layer_fails_with_a_reason(image: Image) -> None:
    whole = gzip.compress(tar([file("a.txt", "x" * 100_000)]))
    layer = image.raw_layer(whole[: len(whole) // 2])
    with pytest.raises(ScanFailed) as failed:
        walk(image)
    assert failed.value.reason.startswith(f"layer {layer} is not a readable tar archive")


def test_a_layer_missing_from_storage(image: Image, tmp_path: Path) -> None:
    image.layer([file("a.txt", "x")])
    manifest = image.manifest()
    image.store.delete(image.layers[0])
    with pytest.raises(ScanFailed) as failed:
        scan_image(image.store, manifest, Limits())
    assert failed.value.reason == f"layer {image.layers[0]} is missing from storage"


def test_an_index_or_an_artifact_is_not_scanned_as_an_image(image: Image) -> None:
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [],
    }
    artifact = {
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json"},
        "layers": [],
    }
    for manifest in (index, artifact, {"schemaVersion": 1, "fsLayers": []}):
        with pytest.raises(ScanUnsupported):
            scan_image(image.store, manifest, Limits())


def test_a_docker_schema_2_manifest_is_scanned(image: Image) -> None:
    image.layer([file("lib/apk/db/installed", "P:musl\nV:1.2.4-r4\nA:x86_64\no:musl\n")])
    manifest = image.manifest()
    manifest["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
    manifest["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
    inventory = scan_image(image.store, manifest, Limits())
    assert [(p.name, p.version) for p in inventory.packages] == [("musl", "1.2.4-r4")]
