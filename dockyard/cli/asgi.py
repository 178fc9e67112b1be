"""ASGI entry point for server processes: the app plus its background workers.

Settings come from the environment the ``serve`` command published; the parent
already ran migrations.
"""

from __future__ import annotations

from dockyard.config import load_settings
from dockyard.http.app import RegistryFirst, create_app
from dockyard.workers.runner import loops


def app() -> RegistryFirst:
    settings = load_settings()
    return create_app(
        settings, migrate=False, background=lambda db, registry: loops(settings, db, registry)
    )
