"""Side-by-side benchmark of Dockyard against Distribution, the reference registry.

Entry point: ``python bench/run.py`` (see ``--help``).
"""
