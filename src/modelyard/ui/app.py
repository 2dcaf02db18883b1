"""Assembling the UI: its pages, its static files, and the embedded app ``modelyard ui`` runs."""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.middleware.gzip import GZipMiddleware

from modelyard.config import Settings
from modelyard.errors import ModelyardError, NotFound
from modelyard.sdk.backends import LocalBackend
from modelyard.ui._render import render
from modelyard.ui.pages import audit, data, operations, registry, session, tracking

STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
_STATIC_FILES = {"style.css": "text/css", "ui.js": "text/javascript"}


def ui_router(*, login: bool = False) -> APIRouter:
    """Every page of the UI, plus ``/ui/static/...``; none of them is in the OpenAPI document.
    ``login`` adds ``/login`` and ``/logout`` (the team server's accounts)."""
    router = APIRouter(include_in_schema=False)
    for pages in (tracking, registry, data, operations, audit):
        router.include_router(pages.router)
    if login:
        router.include_router(session.router)
    router.add_api_route("/ui/static/{name}", _static, methods=["GET"])
    return router


def _static(name: str) -> Response:
    headers = {"Cache-Control": "public, max-age=86400"}
    if name == "plotly.min.js":
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)
    if name not in _STATIC_FILES:
        raise NotFound(f"no static file {name!r}")
    return FileResponse(STATIC / name, media_type=_STATIC_FILES[name], headers=headers)


async def ui_error(request: Request, exc: Exception) -> HTMLResponse:
    """A ``ModelyardError`` on a page: the page's frame with the message, and the error's status."""
    assert isinstance(exc, ModelyardError)
    return render(request, "error.html", {"error": exc}, status_code=exc.http_status)


def create_ui_app(settings: Settings, backend: LocalBackend | None = None) -> FastAPI:
    """The UI alone over the embedded store, acting as ``settings.user`` (``modelyard ui``)."""
    app = FastAPI(title="modelyard UI", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.backend = backend or LocalBackend.open(settings)
    app.add_middleware(GZipMiddleware, minimum_size=2_048)
    app.add_exception_handler(ModelyardError, ui_error)
    app.include_router(ui_router())
    return app
