"""Known vulnerabilities: OSV advisories imported offline, and matching them to inventories."""
