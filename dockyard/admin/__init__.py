"""Administration: users, groups, projects, members and tokens.

Each function opens its own transaction, validates its input and returns frozen
values; the CLI, the REST API and the UI all go through here.
"""

from __future__ import annotations


class AdminError(ValueError):
    """A request that cannot be carried out, with a message fit for the user."""


class NotFound(AdminError):
    """What the request names does not exist (or the caller may not know it does)."""
