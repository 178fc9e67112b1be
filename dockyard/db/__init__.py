"""Schema and every SQL statement. Nothing outside this package speaks SQL."""
