"""``/docs`` and ``/redoc`` with their assets served by this app, never from a CDN.

FastAPI's default pages load Swagger UI and ReDoc from a CDN, so they are blank without
internet or behind a strict proxy; the ``fastapi-offline`` package ships the same assets.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"
# The pages install_docs serves (their inline start-up scripts get a hashed CSP: service.headers)
DOCS_PATHS: tuple[str, ...] = ("/docs", "/docs/oauth2-redirect", "/redoc")


def install_docs(app: FastAPI) -> None:
    """Serve the interactive docs from local assets (create the app with ``docs_url=None``)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    swagger, redirect, redoc_path = DOCS_PATHS

    def urls(request: Request) -> tuple[str, str, str]:
        """The app's root path, its OpenAPI URL and the assets' URL behind any proxy prefix."""
        root = request.scope.get("root_path", "")
        return root, f"{root}{app.openapi_url}", f"{root}{ASSETS_URL}"

    @app.get(swagger, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root, openapi, assets = urls(request)
        return get_swagger_ui_html(
            openapi_url=openapi,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect}",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_path, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        _, openapi, assets = urls(request)
        return get_redoc_html(
            openapi_url=openapi,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )
