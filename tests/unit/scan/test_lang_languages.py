"""The language analyzers as the walker sees them: one list, distinct names, no overlap."""

from __future__ import annotations

from dockyard.scan.analyzers.languages import LANGUAGE_ANALYZERS

# (path, mode, size) → the one analyzer that must want it, or None.
CASES = [
    ("usr/lib/python3/dist-packages/idna-3.3.dist-info/METADATA", 0o100644, 2000, "python"),
    ("app/node_modules/express/package.json", 0o100644, 2000, "npm"),
    ("usr/local/bin/app", 0o100755, 5_000_000, "go"),
    ("opt/app/app.jar", 0o100644, 5_000_000, "java"),
    ("app/package.json", 0o100644, 2000, None),
    ("etc/passwd", 0o100644, 2000, None),
    ("usr/local/bin/tiny.sh", 0o100755, 200, None),
]


def test_each_file_is_wanted_by_the_right_analyzer_only():
    names = [a.name for a in LANGUAGE_ANALYZERS]
    assert names == ["python", "npm", "go", "java"]
    for path, mode, size, expected in CASES:
        wanted = [a.name for a in LANGUAGE_ANALYZERS if a.wants(path, mode, size)]
        assert wanted == ([expected] if expected else []), path
