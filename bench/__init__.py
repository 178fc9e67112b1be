"""Side-by-side benchmark of Dockyard against Distribution (the reference registry)."""
