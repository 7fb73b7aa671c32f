"""Serve the console's files under ``/admin/`` with headers that keep it locked down.

The files are public (they hold nothing secret: the console is a client of the admin API, and
every call it makes carries the admin's own key). They are plain files in ``static/``: no build
step, and nothing is fetched from anywhere but this router.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Quart, Response, redirect, request, send_from_directory

from flask_core import errors
from flask_core.auth import public
from flask_core.routes import route

from .. import answers

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/admin"
ASSET_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
}
# No inline script or style anywhere, no framing, no referrer carrying the console's URL out.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

blueprint = Blueprint("console", __name__, url_prefix=PREFIX)


@blueprint.get("")
@public
@route(answers=answers.CONSOLE_REDIRECT)
async def console_root() -> Response:
    """Redirect to the console's page."""
    return redirect(f"{PREFIX}/", code=308)  # type: ignore[return-value]


@blueprint.get("/")
@public
@route(answers=answers.CONSOLE_PAGE)
async def console_page() -> Response:
    """The admin console (HTML; it calls the admin API with the key typed into it)."""
    return await send_from_directory(STATIC, "index.html", mimetype=ASSET_TYPES[".html"])


@blueprint.get("/assets/<path:name>")
@public
@route(answers=answers.CONSOLE_ASSET)
async def console_asset(name: str) -> Response:
    """One of the console's scripts, stylesheets or vendored libraries."""
    suffix = Path(name).suffix
    if suffix not in ASSET_TYPES:
        raise errors.NotFound("No such asset.")
    # send_from_directory refuses paths that leave STATIC (safe_join) with a 404.
    return await send_from_directory(STATIC, name, mimetype=ASSET_TYPES[suffix])


def _in_console() -> bool:
    path = request.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def install_console(app: Quart) -> None:
    """Mount the console and give every answer under ``/admin`` its security headers."""
    app.register_blueprint(blueprint)

    @app.after_request
    async def _console_headers(response: Response) -> Response:
        if _in_console():
            response.headers.update(SECURITY_HEADERS)
        return response
