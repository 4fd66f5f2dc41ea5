"""The explorer page at ``/explorer`` on the RPC port: the built bundle in ``rpc/explorer_static``.

The page is static (built from ``explorer/`` by ``node explorer/build.mjs``) and reads only the
public JSON-RPC and WebSocket of the port that serves it. ``/explorer`` redirects to
``/explorer/``, which answers ``index.html``; other paths answer the bundle's files.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "explorer_static"


def add_explorer_routes(app: web.Application, static_dir: Path = STATIC_DIR) -> None:
    """Serve the explorer from ``static_dir`` at ``/explorer/`` on ``app``."""
    index = static_dir / "index.html"

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/explorer/")

    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/explorer", redirect)
    app.router.add_get("/explorer/", page)
    app.router.add_static("/explorer/", static_dir, follow_symlinks=False)
