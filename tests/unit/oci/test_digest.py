import hashlib

import pytest

from dockyard.oci.digest import digest_bytes, looks_like_digest, parse_digest
from dockyard.oci.errors import Code, RegistryError

SHA256 = "sha256:" + hashlib.sha256(b"x").hexdigest()
SHA512 = "sha512:" + hashlib.sha512(b"x").hexdigest()


@pytest.mark.parametrize("text", [SHA256, SHA512])
def test_registered_algorithms_parse(text: str) -> None:
    digest = parse_digest(text)
    assert str(digest) == text
    assert digest.hasher().name == text.split(":")[0]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha256",
        "sha256:",
        ":" + "a" * 64,
        "sha256:" + "a" * 63,
        "sha256:" + "a" * 65,
        "sha256:" + "A" * 64,
        "sha256:" + "g" * 64,
        "SHA256:" + "a" * 64,
        "sha256:" + "a" * 64 + "\n",
        "sha512:" + "a" * 64,
        "sha256:../../etc/passwd",
    ],
)
def test_malformed_digests_are_digest_invalid(text: str) -> None:
    with pytest.raises(RegistryError) as caught:
        parse_digest(text)
    assert caught.value.code is Code.DIGEST_INVALID
    assert caught.value.status == 400


@pytest.mark.parametrize("text", ["md5:" + "a" * 32, "blake3:" + "a" * 64, "sha384:" + "a" * 96])
def test_unknown_algorithms_are_unsupported(text: str) -> None:
    with pytest.raises(RegistryError) as caught:
        parse_digest(text)
    assert caught.value.code is Code.UNSUPPORTED
    assert caught.value.status == 400


def test_digest_bytes_matches_hashlib() -> None:
    assert str(digest_bytes(b"x")) == SHA256
    assert str(digest_bytes(b"x", "sha512")) == SHA512


def test_tags_never_look_like_digests() -> None:
    assert looks_like_digest(SHA256)
    assert not looks_like_digest("v1.0")
