"""The web app (api/web/): static files served by the API process itself at /app/.

The app is plain ES modules, HTML and CSS with no build step: it calls the public routes with
the same bearer tokens as any other client, from the same origin (so no CORS), and holds no
server-side logic of its own. docs/ARCHITECTURE.md says why.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEB_ROOT = Path(__file__).resolve().parent / "web"
PREFIX = "/app"

# The app loads nothing but its own files and calls nothing but this API; a chart is shown from
# a blob: URL (it is fetched with the bearer token). Inline script and style are refused, so an
# injected string can never run even if it reached the page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on every load (by ETag): a new version of the app is seen at once.
    "Cache-Control": "no-cache",
}


class WebFiles(StaticFiles):
    """StaticFiles with the app's security headers on every answer."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response


def install(app: FastAPI) -> None:
    """Mount the app at /app/, and send / and /app there."""

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    @app.api_route(PREFIX, methods=["GET", "HEAD"], include_in_schema=False)
    async def to_app() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/")

    app.mount(PREFIX, WebFiles(directory=WEB_ROOT, html=True), name="web")
