"""Query functions; each takes the caller's Session first and never commits."""
