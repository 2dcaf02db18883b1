"""MLflow's artifact proxy (``mlflow-artifacts:`` URIs): upload, list, download and delete.

The client turns ``mlflow-artifacts:/<path>`` into ``/api/2.0/mlflow-artifacts/artifacts/<path>``;
``<path>`` is relative to the server's artifact root, where modelyard keeps a run's files at
``<experiment id>/<run id>/artifacts/...``. Every path is resolved to its run and handed to the
run artifact service (paths that climb out with ``..`` are refused there), so files the mlflow
client logs are the run's ordinary artifacts. Uploads stream to a temporary file and downloads
stream from one: a large file never sits in memory.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from modelyard.errors import InvalidInput, NotFound
from modelyard.sdk.backends.local import LocalBackend
from modelyard.server.mlflow_compat import _wire as wire
from modelyard.server.mlflow_compat._deps import Backend
from modelyard.server.mlflow_compat._errors import MlflowRoute
from modelyard.store.artifacts import normalize_artifact_path

router = APIRouter(prefix="/artifacts", route_class=MlflowRoute, tags=["mlflow: artifacts"])

_CHUNK = 1 << 20


def _locate(backend: LocalBackend, path: str) -> tuple[str, str]:
    """The run and the path among its artifacts that ``<experiment>/<run>/artifacts/<rest>`` names."""
    parts = normalize_artifact_path(path).split("/")
    if len(parts) < 3 or parts[2] != "artifacts":
        raise NotFound(f"no artifact location {path!r}; expected <experiment id>/<run id>/artifacts/<path>")
    experiment_id, run_id, rest = parts[0], parts[1], "/".join(parts[3:])
    info = backend.runs.get(run_id).info
    expected = f"{backend.artifact_store.root_uri.rstrip('/')}/{experiment_id}/{run_id}/artifacts"
    if info.experiment_id != experiment_id or info.artifact_uri.rstrip("/") != expected:
        raise NotFound(f"no artifact location {path!r}")
    return run_id, rest


@router.put("/{path:path}")
async def upload(path: str, request: Request, backend: Backend) -> dict[str, Any]:
    run_id, rel = await run_in_threadpool(_locate, backend, path)
    folder, _, name = rel.rpartition("/")
    if not name:
        raise InvalidInput(f"an upload needs a file name, got the folder {path!r}")
    with tempfile.TemporaryDirectory(prefix="modelyard-upload-") as tmp:
        local = Path(tmp) / name
        with local.open("wb") as handle:
            async for chunk in request.stream():
                handle.write(chunk)
        await run_in_threadpool(backend.artifacts.log_file, run_id, local, folder or None)
    return {}


@router.get("")
def list_files(backend: Backend, path: str = "") -> dict[str, Any]:
    clean = normalize_artifact_path(path)
    if clean.count("/") < 2:
        return {}  # above a run's artifacts there is nothing a client may list
    run_id, rel = _locate(backend, clean)
    files = backend.artifacts.list(run_id, rel or None)
    return {"files": [wire.file_info(f, rel) for f in files]} if files else {}


@router.get("/{path:path}")
def download(path: str, backend: Backend) -> FileResponse:
    run_id, rel = _locate(backend, path)
    if not rel:
        raise InvalidInput("name a file to download")
    tmp = tempfile.mkdtemp(prefix="modelyard-download-")
    try:
        local = backend.artifacts.download(run_id, rel, tmp)
        if not local.is_file():
            raise InvalidInput(f"{rel!r} is a folder; list it and download its files")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        local,
        media_type="application/octet-stream",
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )
