from pathlib import Path

import pytest
from sqlalchemy import text

from dockyard.db.engine import Database


@pytest.mark.parametrize(("mode", "expected"), [("full", 2), ("normal", 1)])
def test_sqlite_durability_follows_the_setting(tmp_path: Path, mode: str, expected: int) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}", mode)
    with db.session() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == expected
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_unknown_durability_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Database(f"sqlite:///{tmp_path / 'db.sqlite'}", "off")
