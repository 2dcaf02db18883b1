"""Serve modelyard's MLflow-compatible API for the ``mlflow_api`` benchmark: ``python
benchmarks/_mlflow_api_server.py ROOT PORT`` (one uvicorn worker over SQLite in ROOT)."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend
from modelyard.server.mlflow_compat import router


def build_app(root: Path) -> FastAPI:
    settings = Settings(
        home=root,
        store_uri=f"sqlite:///{root / 'modelyard.db'}",
        artifact_uri=str(root / "artifacts"),
        capture_environment=False,
    )
    app = FastAPI()
    app.state.backend = LocalBackend.open(settings)
    app.include_router(router)
    return app


if __name__ == "__main__":
    folder, port = Path(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(build_app(folder), host="127.0.0.1", port=port, log_level="warning")
