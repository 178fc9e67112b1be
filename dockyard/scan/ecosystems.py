"""OSV ecosystem names for OS packages, from the release in ``os-release``.

Advisories are per release, so the release is part of the name: ``Debian:12`` (major
only, as the Debian security tracker keys them), ``Ubuntu:22.04``, ``Alpine:v3.19``
(major.minor with a ``v``). The RHEL family: OSV publishes ``Rocky Linux:<major>`` and
``AlmaLinux:<major>``; Red Hat's own records sit under ``Red Hat`` with product streams
an image does not name, so ``rhel`` and ``centos`` map to plain ``Red Hat``. A release
with no OSV ecosystem (fedora, amazon, an unknown id) gets ``<id>:<version>`` so it is
shown truthfully and simply matches nothing.
"""

from __future__ import annotations

from dockyard.scan.model import OSInfo

_RPM_FAMILY = {"rocky": "Rocky Linux", "almalinux": "AlmaLinux"}


def _parts(version: str, count: int) -> str:
    return ".".join(version.split(".")[:count])


def os_ecosystem(os: OSInfo | None, family: str) -> str:
    """``family`` is the package format's distro (``Debian``, ``Alpine``, ``Red Hat``),
    used bare when the image has no ``os-release`` to name the release."""
    if os is None:
        return family
    if os.id == "debian":
        return f"Debian:{_parts(os.version, 1)}" if os.version else "Debian"
    if os.id == "ubuntu":
        return f"Ubuntu:{os.version}" if os.version else "Ubuntu"
    if os.id == "alpine":
        return f"Alpine:v{_parts(os.version, 2)}" if os.version else "Alpine"
    if os.id in _RPM_FAMILY:
        name = _RPM_FAMILY[os.id]
        return f"{name}:{_parts(os.version, 1)}" if os.version else name
    if os.id in ("rhel", "centos"):
        return "Red Hat"
    return f"{os.id}:{os.version}" if os.version else os.id


def purl_namespace(os: OSInfo | None, default: str) -> str:
    """The distro in a package URL (``pkg:deb/debian/...``): the image's own id."""
    return os.id if os is not None else default
