"""The Python analyzer reads real core metadata and ignores look-alikes."""

from __future__ import annotations

import io
from importlib import metadata
from pathlib import Path

from dockyard.scan.analyzer import Found, Limits
from dockyard.scan.analyzers.python import PythonAnalyzer, normalize_name

LAYER = "sha256:" + "a" * 64
SITE = "usr/local/lib/python3.11/site-packages"


def _real_metadata(dist: str) -> tuple[bytes, str, str]:
    """The METADATA file of a distribution installed in this venv, with its name and version."""
    d = metadata.distribution(dist)
    path = Path(str(d.locate_file(""))) / next(
        str(f) for f in d.files or [] if str(f).endswith(".dist-info/METADATA")
    )
    return path.read_bytes(), d.metadata["Name"], d.version


def _scan(files: dict[str, bytes], limits: Limits = Limits()) -> set[tuple[str, str, str]]:
    analyzer = PythonAnalyzer()
    found = {}
    for path, data in files.items():
        if analyzer.wants(path, 0o100644, len(data)):
            value = analyzer.read(path, io.BytesIO(data), len(data), limits)
            if value is not None:
                found[path] = Found(LAYER, value)
    result = analyzer.finish(found, None)
    assert {p.ecosystem for p in result.packages} <= {"PyPI"}
    assert {p.purl_type for p in result.packages} <= {"pypi"}
    assert {p.layer_digest for p in result.packages} <= {LAYER}
    return {(p.name, p.version, p.path) for p in result.packages}


def test_real_dist_info_and_egg_info_are_reported_and_look_alikes_are_not():
    httpx, httpx_name, httpx_version = _real_metadata("httpx")
    starlette, starlette_name, starlette_version = _real_metadata("starlette")
    egg = b"Metadata-Version: 1.1\nName: python-apt\nVersion: 2.6.0\nSummary: Python bindings\n"
    files = {
        f"{SITE}/httpx-{httpx_version}.dist-info/METADATA": httpx,
        f"{SITE}/starlette-{starlette_version}.dist-info/METADATA": starlette,
        "usr/lib/python3/dist-packages/oauthlib-3.2.2.egg-info/PKG-INFO": (
            b"Metadata-Version: 2.1\nName: oauthlib\nVersion: 3.2.2\n\nlong text\nName: evil\n"
        ),
        "usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info": egg,
        # Not distributions: a METADATA outside a dist-info, a PKG-INFO outside an egg-info,
        # a dist-info with no name, and one whose metadata lacks a version.
        "srv/app/METADATA": httpx,
        "srv/app/PKG-INFO": egg,
        f"{SITE}/.dist-info/METADATA": httpx,
        f"{SITE}/broken-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: broken\n",
    }
    starlette_path = f"{SITE}/starlette-{starlette_version}.dist-info/METADATA"
    assert _scan(files) == {
        (httpx_name, httpx_version, f"{SITE}/httpx-{httpx_version}.dist-info/METADATA"),
        (starlette_name, starlette_version, starlette_path),
        ("oauthlib", "3.2.2", "usr/lib/python3/dist-packages/oauthlib-3.2.2.egg-info/PKG-INFO"),
        ("python-apt", "2.6.0", "usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info"),
    }


def test_metadata_larger_than_the_limit_is_not_read():
    httpx, _, version = _real_metadata("httpx")
    path = f"{SITE}/httpx-{version}.dist-info/METADATA"
    assert _scan({path: httpx}, Limits(max_file_bytes=len(httpx) - 1)) == set()
    assert len(_scan({path: httpx}, Limits(max_file_bytes=len(httpx)))) == 1


def test_names_are_kept_for_display_and_normalised_for_matching():
    meta = b"Metadata-Version: 2.1\nName: Flask_SQLAlchemy\nVersion: 3.1.1\n"
    path = f"{SITE}/flask_sqlalchemy-3.1.1.dist-info/METADATA"
    assert _scan({path: meta}) == {("Flask_SQLAlchemy", "3.1.1", path)}
    assert normalize_name("Flask_SQLAlchemy") == "flask-sqlalchemy"
    assert normalize_name("zope.interface") == normalize_name("Zope__Interface") == "zope-interface"
