"""Dockyard: a private, strict, fast OCI container registry."""

__version__ = "0.1.0"
