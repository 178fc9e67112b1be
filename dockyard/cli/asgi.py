"""ASGI entry point for server processes: the app plus its background workers.

Settings come from the environment the ``serve`` command published; the parent
already ran migrations.
"""

from __future__ import annotations

import gc

from dockyard.config import load_settings
from dockyard.http.app import RegistryFirst, create_app
from dockyard.http.logformat import configure_logging
from dockyard.workers.runner import loops


def app() -> RegistryFirst:
    settings = load_settings()
    configure_logging(settings)
    application = create_app(
        settings, migrate=False, background=lambda db, registry: loops(settings, db, registry)
    )
    # What start-up built lives as long as the process: keep the collector off it, so
    # neither requests nor the exit after SIGTERM pay for scanning it (exit: ~1 s -> 0.1 s).
    gc.freeze()
    return application
