"""ASGI entry point for server processes: settings come from the environment."""

from __future__ import annotations

from starlette.applications import Starlette

from dockyard.config import load_settings
from dockyard.http.app import create_app


def app() -> Starlette:
    """Factory used by each server worker; the parent already ran migrations."""
    return create_app(load_settings(), migrate=False)
