"""Every analyzer the scanner runs, listed once: OS package databases, then languages."""

from __future__ import annotations

from dockyard.scan.analyzer import Analyzer
from dockyard.scan.analyzers.apk import Apk
from dockyard.scan.analyzers.dpkg import Dpkg
from dockyard.scan.analyzers.languages import LANGUAGE_ANALYZERS
from dockyard.scan.analyzers.rpm import Rpm

OS_ANALYZERS: list[Analyzer] = [Dpkg(), Apk(), Rpm()]
ANALYZERS: list[Analyzer] = [*OS_ANALYZERS, *LANGUAGE_ANALYZERS]
