"""Repository names and tags, per the distribution spec's grammar.

name      := component ("/" component)*        total length <= 255
component := [a-z0-9]+ (separator [a-z0-9]+)*
separator := "." | "_" | "__" | "-"+
tag       := [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
"""

from __future__ import annotations

import re

from dockyard.oci.errors import Code, RegistryError

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:\.|_|__|-+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
NAME_PATTERN = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_NAME = re.compile(NAME_PATTERN)
_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
NAME_MAX_LENGTH = 255


def is_valid_name(name: str) -> bool:
    return len(name) <= NAME_MAX_LENGTH and bool(_NAME.fullmatch(name))


def check_name(name: str) -> str:
    """Return the name, or raise NAME_INVALID."""
    if not is_valid_name(name):
        raise RegistryError(Code.NAME_INVALID, "invalid repository name", {"name": name[:300]})
    return name


def is_valid_tag(tag: str) -> bool:
    return bool(_TAG.fullmatch(tag))


def check_tag(tag: str) -> str:
    """Return the tag, or raise MANIFEST_INVALID (the spec has no tag-specific code)."""
    if not is_valid_tag(tag):
        raise RegistryError(Code.MANIFEST_INVALID, "invalid tag", {"tag": tag[:300]})
    return tag
