"""Which groups a user may manage (the project form's namespace list), in one query."""

from __future__ import annotations

import uuid

from sqlalchemy import event

from dockyard.admin import accounts
from dockyard.auth.service import AccessService
from tests.support.auth_registry import AuthRegistry


def test_groups_managed_agrees_with_group_abilities_in_one_query(registry: AuthRegistry) -> None:
    top = f"g{uuid.uuid4().hex[:8]}"
    groups = [top, f"{top}/a", f"{top}/a/deep", f"{top}/b", f"{top}/c"]
    for group in groups:
        accounts.create_group(registry.db, group)
    user = registry.new_user({f"{top}/a": "maintainer", f"{top}/b": "developer"})
    owner = registry.new_user({top: "owner"})
    service = AccessService(registry.db, registry.settings)
    statements: list[str] = []

    def count(*args: object) -> None:
        if str(args[2]).lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN
            statements.append(str(args[2]))

    for name, expected in [
        (user.name, [f"{top}/a", f"{top}/a/deep"]),  # maintainer of a, so of a/deep too
        (owner.name, groups),  # an owner above them all
    ]:
        record = accounts.find_user(registry.db, name)
        principal = service.user_principal(record.id)
        assert principal is not None
        one_by_one = [g for g in groups if "manage" in service.group_abilities(principal, g)]
        for engine in registry.db.engines:
            event.listen(engine, "before_cursor_execute", count)
        try:
            statements.clear()
            assert service.groups_managed(principal, groups) == one_by_one == expected
            assert len(statements) == 1
        finally:
            for engine in registry.db.engines:
                event.remove(engine, "before_cursor_execute", count)
