"""Docker token scopes: ``repository:<name>:<action>[,<action>]`` and ``registry:catalog:*``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.oci.names import is_valid_name


@dataclass(frozen=True, slots=True)
class Scope:
    type: str
    name: str
    actions: frozenset[str]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"


def parse_scope(text: str) -> Scope | None:
    """One scope, or None when it is not one we grant anything for."""
    kind, _, rest = text.partition(":")
    name, _, actions = rest.rpartition(":")
    wanted = frozenset(a for a in actions.split(",") if a)
    if kind == "repository" and is_valid_name(name) and wanted:
        return Scope(kind, name, wanted)
    if kind == "registry" and name == "catalog" and wanted == {"*"}:
        return Scope(kind, name, wanted)
    return None


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Every scope in repeated and/or space-separated ``scope`` parameters."""
    found = []
    for value in values:
        for text in value.split():
            scope = parse_scope(text)
            if scope is not None:
                found.append(scope)
    return found
