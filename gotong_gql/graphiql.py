"""GraphiQL without a third-party CDN.

Its assets (React, ReactDOM, GraphiQL and its explorer plugin, pinned to the versions Strawberry's
own page uses) come from the npm registry at setup (`make graphiql`, run by `make run` and
`make test`) into `gotong_gql/static/graphiql/`, and are served from this origin under a strict
Content-Security-Policy (scripts from 'self' and one per-response nonce; no inline handlers, no
eval). When the assets are missing (no npm on the machine), the page falls back to Strawberry's
CDN-based GraphiQL and says so in the log.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
ASSET_DIR = STATIC / "graphiql"
ASSET_PATH = "/graphiql-assets"
# File served -> its path inside node_modules (what `make graphiql` copies).
ASSETS = {
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    "plugin-explorer.umd.js": "@graphiql/plugin-explorer/dist/index.umd.js",
    "plugin-explorer.css": "@graphiql/plugin-explorer/dist/style.css",
}


def assets_present() -> bool:
    return all((ASSET_DIR / name).is_file() for name in ASSETS)


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


def local_page() -> HTMLResponse | None:
    """The same-origin GraphiQL page, or None when the assets are not installed."""
    if not assets_present():
        log.warning(
            "GraphiQL assets are missing (run `make graphiql`): serving GraphiQL from its CDN"
        )
        return None
    nonce = secrets.token_urlsafe(16)
    html = (
        (STATIC / "graphiql.html")
        .read_text()
        .replace("__NONCE__", nonce)
        .replace("__ASSETS__", ASSET_PATH)
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": content_security_policy(nonce)})


def asset_routes() -> list[Mount]:
    return [
        Mount(ASSET_PATH, app=StaticFiles(directory=ASSET_DIR, check_dir=False), name="graphiql")
    ]
