"""One server of the serving benchmark, in a process of its own: ``bare``, ``bare_numpy`` (the bare app on an
array, no DataFrame), ``modelyard``, ``modelyard_log`` (``modelyard`` with the inference log), ``modelyard_full``,
``modelyard_w2`` (``modelyard`` on two forked workers sharing the port, as ``serve --workers 2``) or
``modelyard_batched`` (``modelyard`` with micro-batching). ``modelyard_full`` writes the real inference log
(``ParquetRequestLogger``: Parquet segments in a SQLite-indexed artifact folder under ``MODEL_ROOT``).

Usage: ``python benchmarks/_serving_worker.py KIND MODEL_ROOT PORT``. ``MODEL_ROOT`` holds
``model.joblib`` (the plain estimator, for the bare app) and the modelyard model directories
``primary``, ``canary`` and ``shadow``. Every server runs on uvicorn with one worker, uvloop and
httptools, no access log: the same stack, so the difference is the handler (``modelyard_w2`` aside).
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modelyard.config import Settings
from modelyard.domain.serving import BatchingSpec
from modelyard.models import load_model_dir
from modelyard.serving import (
    DeploymentPlan,
    Mode,
    ServingPlan,
    Variant,
    create_app,
    worker_metrics,
)
from modelyard.serving.inference_log import ParquetRequestLogger
from modelyard.serving.plan import PlanHolder
from modelyard.serving.runner import bind_socket, run
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema


def bare_app(root: Path) -> Starlette:
    """The limit: parse the body, build a DataFrame, call the estimator, answer JSON."""
    model = joblib.load(root / "model.joblib")

    async def invocations(request: Request) -> JSONResponse:
        split = (await request.json())["dataframe_split"]
        frame = pd.DataFrame(split["data"], columns=split["columns"])
        return JSONResponse({"predictions": model.predict(frame).tolist()})

    return Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])


def bare_numpy_app(root: Path) -> Starlette:
    """The floor: parse the body, hand its rows to the estimator as a NumPy array, answer JSON."""
    model = joblib.load(root / "model.joblib")
    model_np = copy.copy(model)
    del model_np.feature_names_in_  # fitted on a DataFrame: an array would warn on every request

    async def invocations(request: Request) -> JSONResponse:
        split = (await request.json())["dataframe_split"]
        return JSONResponse({"predictions": model_np.predict(np.asarray(split["data"], dtype=np.float64)).tolist()})

    return Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])


BATCHING = BatchingSpec(max_batch_size=16, max_wait_ms=2.0)  # the ``modelyard_batched`` server


def modelyard_app(root: Path, *, full: bool, batching: BatchingSpec | None = None, log: bool = False) -> Starlette:
    primary = Variant(name="blue", model_version="bench/1", predictor=load_model_dir(root / "primary"))
    variants = [primary]
    if not full:
        plan = ServingPlan([DeploymentPlan(name="bench", variants=tuple(variants), batching=batching)])
        if not log:
            return create_app(plan)
        holder = PlanHolder(plan)
        request_log = inference_log(holder, root / f"inference-log-{os.getpid()}")
        request_log.start()
        return create_app(holder, request_logger=request_log)
    variants.append(
        Variant(
            name="green",
            model_version="bench/2",
            predictor=load_model_dir(root / "canary"),
            mode=Mode.CANARY,
            weight=10,
        )
    )
    variants.append(
        Variant(name="shadow", model_version="bench/3", predictor=load_model_dir(root / "shadow"), mode=Mode.SHADOW)
    )
    holder = PlanHolder(ServingPlan([DeploymentPlan(name="bench", variants=tuple(variants), batching=batching)]))
    log = inference_log(holder, root / f"inference-log-{os.getpid()}")
    log.start()
    return create_app(holder, request_logger=log)


def inference_log(holder: PlanHolder, folder: Path) -> ParquetRequestLogger:
    """The inference log ``modelyard serve`` writes, with its default settings (every request
    sampled, segments of up to 5,000 rows or every 10 s, class probabilities added by the writer),
    into a SQLite store and an artifact folder under ``folder`` (in the benchmark's temporary
    directory)."""
    folder.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{folder / 'store.db'}")
    ensure_schema(db)
    defaults = Settings()
    return ParquetRequestLogger(
        db,
        ArtifactStore(str(folder / "artifacts")),
        sample=defaults.inference_log_sample,
        flush_interval_s=defaults.inference_log_flush_interval_s,
        holder=holder,
    )


def main() -> None:
    kind, root, port = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    if kind == "modelyard_w2":  # what `modelyard serve --workers 2` runs: forked workers, summed metrics
        worker_metrics.enable()
        run(ServingPlan([]), "127.0.0.1", port, workers=2, app=modelyard_app(root, full=False))
        return
    if kind == "bare":
        app = bare_app(root)
    elif kind == "bare_numpy":
        app = bare_numpy_app(root)
    else:
        batching = BATCHING if kind == "modelyard_batched" else None
        app = modelyard_app(root, full=kind == "modelyard_full", batching=batching, log=kind == "modelyard_log")
    sock = bind_socket("127.0.0.1", port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
