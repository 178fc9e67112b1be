"""Repository and tag listings: lexical pages from the database."""

from __future__ import annotations

from collections.abc import Callable

from dockyard.db.engine import Database
from dockyard.db.queries import repositories, tags
from dockyard.db.read_cache import ReadCache
from dockyard.oci.errors import Code, RegistryError

SCAN_BATCH = 500
# Tag pages kept between commits: clients and CI tools list the same repositories again
# and again. A page is at most page_size_max names (about 60 KB at 1,000): 64 bound it.
TAG_PAGES_KEPT = 64


class Catalog:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._tag_pages = ReadCache(db.data_version, max_entries=TAG_PAGES_KEPT)

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
        names, more = self._tag_pages.get(
            (repository, after, limit), lambda: self._tags(repository, after, limit)
        )
        return list(names), more  # a copy: the cached page stays as it was read

    def _tags(self, repository: str, after: str | None, limit: int) -> tuple[tuple[str, ...], bool]:
        with self._db.session() as session:
            repository_id = repositories.find_id(session, repository)
            if repository_id is None:
                raise RegistryError(Code.NAME_UNKNOWN, detail={"name": repository})
            names = tags.page(session, repository_id, after, limit + 1) if limit else []
        return tuple(names[:limit]), len(names) > limit
