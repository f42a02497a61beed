"""GraphiQL without a third-party CDN, offline.

Its assets (React, ReactDOM, GraphiQL and its explorer plugin, pinned) are vendored under
`gotong_gql/static/graphiql/` with their versions, checksums and licences (ASSETS.json,
THIRD_PARTY_LICENSES.txt), committed and shipped as package data, so every install, wheel and
image serves them from this origin, with no internet. `make graphiql-assets`
(scripts/graphiql_assets.py) refreshes them from the npm registry. The page runs under a strict
Content-Security-Policy (scripts from 'self' and one per-response nonce; no inline handlers, no
eval).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSET_DIR = STATIC / "graphiql"
ASSET_PATH = "/graphiql-assets"
# File served -> its path inside node_modules (what `make graphiql-assets` copies).
ASSETS = {
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    "plugin-explorer.umd.js": "@graphiql/plugin-explorer/dist/index.umd.js",
    "plugin-explorer.css": "@graphiql/plugin-explorer/dist/style.css",
}


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


def page() -> HTMLResponse:
    """The GraphiQL page; its assets come from this origin (asset_routes)."""
    nonce = secrets.token_urlsafe(16)
    html = (
        (STATIC / "graphiql.html")
        .read_text()
        .replace("__NONCE__", nonce)
        .replace("__ASSETS__", ASSET_PATH)
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": content_security_policy(nonce)})


def asset_routes() -> list[Mount]:
    return [Mount(ASSET_PATH, app=StaticFiles(directory=ASSET_DIR), name="graphiql")]
