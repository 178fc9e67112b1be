"""/api/v1/docs: the OpenAPI schema as one self-contained page.

FastAPI's Swagger page loads its scripts from a CDN, which private installations often
cannot reach; this page is plain HTML rendered from the same schema, with no scripts.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2328}code{background:#f6f8fa;padding:.1em .3em;border-radius:4px}"
    ".op{border:1px solid #d0d7de;border-radius:8px;padding:.6rem 1rem;margin:.6rem 0}"
    ".m{display:inline-block;min-width:4.5rem;font-weight:700}"
    ".get{color:#0969da}.post{color:#1a7f37}.put,.patch{color:#9a6700}.delete{color:#cf222e}"
    "td{padding:.15rem .6rem;vertical-align:top}.muted{color:#656d76}"
)


def _parameters(operation: dict[str, Any]) -> str:
    rows = [
        f"<tr><td><code>{escape(p['name'])}</code></td><td class=muted>{escape(p['in'])}"
        f"{' · required' if p.get('required') else ''}</td>"
        f"<td>{escape(p.get('description') or '')}</td></tr>"
        for p in operation.get("parameters", [])
    ]
    if "requestBody" in operation:
        rows.append(
            "<tr><td><code>body</code></td><td class=muted>JSON</td><td>see the schema</td></tr>"
        )
    return f"<table>{''.join(rows)}</table>" if rows else ""


def render(schema: dict[str, Any]) -> str:
    sections: dict[str, list[str]] = {}
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["other"])[0]
            summary = escape(operation.get("summary") or "")
            description = escape(operation.get("description") or "")
            sections.setdefault(tag, []).append(
                f"<div class=op><span class='m {method}'>{method.upper()}</span>"
                f"<code>/api/v1{escape(path)}</code> {summary}"
                f"<p class=muted>{description}</p>{_parameters(operation)}</div>"
            )
    body = "".join(f"<h2>{escape(tag)}</h2>{''.join(ops)}" for tag, ops in sections.items())
    info = schema.get("info", {})
    return (
        f"<!doctype html><meta charset=utf-8><title>{escape(info.get('title', 'API'))}</title>"
        f"<style>{STYLE}</style><h1>{escape(info.get('title', 'API'))} "
        f"<small class=muted>{escape(str(info.get('version', '')))}</small></h1>"
        f"<p>{escape(info.get('description', ''))} The machine-readable schema is at "
        f"<a href='/api/v1/openapi.json'><code>/api/v1/openapi.json</code></a>. "
        "Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> or "
        "<code>PRIVATE-TOKEN</code>.</p>" + body
    )


def add_docs_page(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(render(app.openapi()))
