from pathlib import Path

import pytest

from dockyard.storage.filesystem import FilesystemStore
from tests.scan.image import Image


@pytest.fixture
def image(tmp_path: Path) -> Image:
    return Image(FilesystemStore(tmp_path / "store"))
