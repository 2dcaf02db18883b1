"""``create_app``: the team server's FastAPI application over one store.

One ``LocalBackend`` is opened per process (``app.state.backend``); its services ask the
``ActorProvider`` ``current_actor`` who is acting, which reads the user the auth middleware
verified for the request being handled. So the server holds no rules of its own: each route
translates HTTP into one service call, and the services check permissions and write the audit
trail exactly as in embedded mode. The OpenAPI document (``/openapi.json``) is generated from the
route declarations.
"""

from __future__ import annotations

import importlib
import importlib.util
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend
from modelyard.server.auth import AuthMiddleware, AuthMode, current_actor
from modelyard.server.errors import install_error_handlers
from modelyard.server.limits import Limits, LimitsMiddleware
from modelyard.server.routers import ROUTERS
from modelyard.ui import ui_router

_MLFLOW_COMPAT = "modelyard.server.mlflow_compat"


def create_app(
    settings: Settings,
    *,
    auth: AuthMode | str = AuthMode.TOKEN,
    limits: Limits | None = None,
    backend: LocalBackend | None = None,
) -> FastAPI:
    """The server's app over ``settings``' store; ``auth="none"`` acts as ``settings.user`` for
    every request (loopback only: ``modelyard server`` refuses another host)."""
    mode = AuthMode(auth)
    opened = backend or LocalBackend.open(settings, actor=current_actor)
    app = FastAPI(
        title="modelyard",
        version=version("modelyard"),
        description="The modelyard team server: tracking, artifacts, datasets, registry, governance.",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.backend = opened
    app.state.settings = settings
    app.state.limits = limits or Limits()
    app.state.auth_mode = mode
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    if importlib.util.find_spec(_MLFLOW_COMPAT) is not None:
        mlflow_compat: Any = importlib.import_module(_MLFLOW_COMPAT)
        app.include_router(mlflow_compat.router, include_in_schema=False)  # MLflow documents its own API
    app.state.login_enabled = mode is AuthMode.TOKEN
    app.include_router(ui_router(login=mode is AuthMode.TOKEN))  # the web UI at /, behind the same auth
    app.add_middleware(AuthMiddleware, identity=opened.identity, mode=mode, local_user=settings.user)
    app.add_middleware(LimitsMiddleware, limits=app.state.limits)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, without the 422 answers it adds by default: validation errors are
    answered 400 in the one error shape (``server/errors.py``)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    document["security"] = [{"bearer": []}]
    app.openapi_schema = document
    return document
