"""The web UI: server-rendered pages (Jinja2), a little progressive JavaScript, no build."""
