"""Repository and tag listings: lexical pages from the database."""

from __future__ import annotations

from collections.abc import Callable

from dockyard.db.engine import Database
from dockyard.db.queries import repositories, tags
from dockyard.oci.errors import Code, RegistryError

SCAN_BATCH = 500


class Catalog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def repositories(
        self, after: str | None, limit: int, visible: Callable[[str], bool] = lambda _: True
    ) -> tuple[list[str], bool]:
        """Up to ``limit`` visible names after ``after``, and whether more follow."""
        found: list[str] = []
        with self._db.session() as session:
            while len(found) <= limit:
                batch = repositories.page_names(session, after, SCAN_BATCH)
                found.extend(name for name in batch if visible(name))
                if len(batch) < SCAN_BATCH:
                    break
                after = batch[-1]
        return found[:limit], len(found) > limit

    def tags(self, repository: str, after: str | None, limit: int) -> tuple[list[str], bool]:
        """Up to ``limit`` tags after ``after``, and whether more follow; NAME_UNKNOWN if none."""
        with self._db.session() as session:
            if repositories.find_id(session, repository) is None:
                raise RegistryError(Code.NAME_UNKNOWN, detail={"name": repository})
            names = tags.page(session, repository, after, limit + 1) if limit else []
        return names[:limit], len(names) > limit
