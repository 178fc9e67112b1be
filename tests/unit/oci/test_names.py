import pytest

from dockyard.oci.errors import Code, RegistryError
from dockyard.oci.names import check_name, check_tag, is_valid_name, is_valid_tag


@pytest.mark.parametrize(
    "name",
    ["a", "library/ubuntu", "a/b/c/d", "a.b", "a_b", "a__b", "a-b", "a---b", "0a/9z", "a" * 255],
)
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "A",
        "a/",
        "/a",
        "a//b",
        "-a",
        "a-",
        "a..b",
        "a___b",
        "a/../b",
        "a/./b",
        "a b",
        "a" * 256,
        "a/" * 127 + "ab",
        "a\n",
        "ä",
    ],
)
def test_invalid_names(name: str) -> None:
    assert not is_valid_name(name)
    with pytest.raises(RegistryError) as caught:
        check_name(name)
    assert caught.value.code is Code.NAME_INVALID


@pytest.mark.parametrize("tag", ["latest", "v1.0.0", "_x", "A-b_c.d", "a" * 128, "0"])
def test_valid_tags(tag: str) -> None:
    assert is_valid_tag(tag)
    assert check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".a", "-a", "a" * 129, "a/b", "a:b", "a\n", "a b"])
def test_invalid_tags(tag: str) -> None:
    assert not is_valid_tag(tag)
    with pytest.raises(RegistryError) as caught:
        check_tag(tag)
    assert caught.value.code is Code.MANIFEST_INVALID
