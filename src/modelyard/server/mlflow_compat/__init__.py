"""The MLflow-compatible API: what the ``mlflow`` client calls, answered by modelyard's services.

Code written for MLflow runs unchanged with ``MLFLOW_TRACKING_URI`` pointing at a modelyard
server: experiments, runs, params, metrics, tags, artifacts (proxied as ``mlflow-artifacts:``),
MLflow 3 logged models and the model registry. Nothing is kept apart: what arrives this way is
ordinary modelyard data (runs, logged models, versions, lineage, audit events), so
``modelyard runs list`` and ``my.load_model`` see it too. Routes answer errors in MLflow's
shape (``error_code``, ``message``); the server's own ``/api/v1`` shape is untouched.

``router`` mounts every path under ``/api/2.0/mlflow`` and ``/ajax-api/2.0/mlflow`` (the web UI's
prefix), and the artifact proxy under ``/api/2.0/mlflow-artifacts``.
"""

from fastapi import APIRouter

from modelyard.server.mlflow_compat import (
    _fallback,
    artifacts,
    experiments,
    logged_models,
    metrics,
    model_versions,
    registered_models,
    runs,
)


def _build() -> APIRouter:
    service = APIRouter()
    for module in (experiments, runs, metrics, logged_models, registered_models, model_versions):
        service.include_router(module.router)
    root = APIRouter()
    root.include_router(service, prefix="/api/2.0/mlflow")
    root.include_router(service, prefix="/ajax-api/2.0/mlflow", include_in_schema=False)
    root.include_router(artifacts.router, prefix="/api/2.0/mlflow-artifacts")
    root.include_router(artifacts.router, prefix="/ajax-api/2.0/mlflow-artifacts", include_in_schema=False)
    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/3.0/mlflow"):
        root.include_router(_fallback.router, prefix=prefix, include_in_schema=False)
    return root


router = _build()

__all__ = ["router"]
