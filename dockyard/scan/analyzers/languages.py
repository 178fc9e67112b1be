"""The language-package analyzers, in one list the walker appends to its OS analyzers.

Instances, shared by every scan: they keep no state of their own between calls, since
``read`` returns what it found and ``finish`` gets it all back from the walker.
"""

from __future__ import annotations

from dockyard.scan.analyzer import Analyzer
from dockyard.scan.analyzers.golang import GoAnalyzer
from dockyard.scan.analyzers.java import JavaAnalyzer
from dockyard.scan.analyzers.npm import NpmAnalyzer
from dockyard.scan.analyzers.python import PythonAnalyzer

LANGUAGE_ANALYZERS: list[Analyzer] = [PythonAnalyzer(), NpmAnalyzer(), GoAnalyzer(), JavaAnalyzer()]
