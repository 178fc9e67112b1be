"""Language package analyzers (Python, npm, Go binaries, Java) are registered here.

``LANGUAGE_ANALYZERS`` is appended to the OS analyzers in ``ANALYZERS``; the language
analyzers themselves are built separately and listed in this one place.
"""

from __future__ import annotations

LANGUAGE_ANALYZERS: list = []
