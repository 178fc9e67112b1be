"""Administration: users, groups, projects, members and tokens.

Each function opens its own transaction, validates its input and returns frozen
values; the CLI, the REST API and the UI all go through here.
"""

from __future__ import annotations


class AdminError(ValueError):
    """A request that cannot be carried out, with a message fit for the user."""


class NotFound(AdminError):
    """What the request names does not exist (or the caller may not know it does)."""


class Forbidden(AdminError):
    """The caller may see what the request names but may not do this to it."""


class Conflict(AdminError):
    """The request would break a rule that protects the current state (the last Owner)."""


class TooManyAttempts(AdminError):
    """Too many wrong passwords lately: the caller must wait (like a paused login)."""
