"""Repository and tag listings: lexical pages from the database."""

from __future__ import annotations

from dockyard.db.engine import Database
from dockyard.db.queries import repositories, tags
from dockyard.oci.errors import Code, RegistryError


class Catalog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def repositories(self, after: str | None, limit: int) -> tuple[list[str], bool]:
        """Up to ``limit`` names after ``after``, and whether more follow."""
        with self._db.session() as session:
            names = repositories.page_names(session, after, limit + 1)
        return names[:limit], len(names) > limit

    def tags(self, repository: str, after: str | None, limit: int) -> tuple[list[str], bool]:
        """Up to ``limit`` tags after ``after``, and whether more follow; NAME_UNKNOWN if none."""
        with self._db.session() as session:
            if repositories.find_id(session, repository) is None:
                raise RegistryError(Code.NAME_UNKNOWN, detail={"name": repository})
            names = tags.page(session, repository, after, limit + 1) if limit else []
        return names[:limit], len(names) > limit
