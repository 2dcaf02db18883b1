"""One tool of the batch benchmark, in a process of its own, so its peak memory is its own.

Usage: ``python benchmarks/_batch_worker.py TOOL ROOT``. ``ROOT`` holds ``input.parquet``, the plain
estimator (``model.joblib``), the modelyard model directory ``modelyard-model`` and the MLflow one
``mlflow-model``. Tools:

- ``plain``: the script a user would write: read the Parquet file, ``model.predict``, write it back
  with a ``prediction`` column. No signature check: the limit.
- ``mlflow``: MLflow's documented batch path: ``mlflow.pyfunc.load_model`` + ``pd.read_parquet`` +
  ``predict`` + ``to_parquet``.
- ``modelyard``: ``modelyard.serving.batch.predict_file`` (what ``modelyard predict`` runs).
- ``ray_1``, ``ray_2``: ``modelyard.serving.batch_ray.predict_file_ray`` with 1 and 2 actors over the same rows
  split in 4 files (``ROOT/parts``), on a local Ray instance started before the clock (issue 19's
  near-linear speed-up with workers, as far as this machine's cores go).
- ``modelyard_cli``: the command itself, ``modelyard predict models:/bench/1 -i ... -o ...``, on a store
  under ``ROOT/home`` where the model is registered: model resolution, start-up and progress bar
  included (the suite times it as a whole process, like the plain script's process).

Prints one JSON line: seconds from the loaded model to the written output, rows, peak RSS (MiB) and
a checksum of the predictions (equal on every tool, or the benchmark refuses the figures).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _plain(root: Path, out: Path) -> None:
    import joblib
    import pyarrow as pa

    model = joblib.load(root / "model.joblib")
    started = time.perf_counter()
    table = pq.read_table(root / "input.parquet")
    prediction = model.predict(table.to_pandas())
    pq.write_table(table.append_column("prediction", pa.array(prediction)), out)
    _report("plain", started, out)


def _mlflow(root: Path, out: Path) -> None:
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model(str(root / "mlflow-model"))
    started = time.perf_counter()
    frame = pd.read_parquet(root / "input.parquet")
    frame["prediction"] = model.predict(frame)
    frame.to_parquet(out)
    _report("mlflow", started, out, version=mlflow.__version__)


def _modelyard(root: Path, out: Path) -> None:
    import modelyard
    from modelyard.models import load_model_dir
    from modelyard.serving.batch import predict_file

    predictor = load_model_dir(root / "modelyard-model")
    started = time.perf_counter()
    predict_file(predictor, root / "input.parquet", out)
    _report("modelyard", started, out, version=modelyard.__version__)


def _ray(workers: int, root: Path, out: Path) -> None:
    import ray

    import modelyard
    from modelyard.models import load_model_dir
    from modelyard.serving.batch_ray import predict_file_ray

    predictor = load_model_dir(root / "modelyard-model")
    # one CPU more than the actors: Ray Data reads the files in tasks of its own
    ray.init(num_cpus=workers + 1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        started = time.perf_counter()
        predict_file_ray(predictor, root / "parts", out, workers=workers, chunk_size=50_000)
        _report(f"ray_{workers}", started, out, version=modelyard.__version__)
    finally:
        ray.shutdown()


def _report(tool: str, started: float, out: Path, version: str = "") -> None:
    seconds = time.perf_counter() - started
    prediction = pq.read_table(out, columns=["prediction"]).column(0).to_numpy()
    body = {
        "tool": tool,
        "version": version,
        "seconds": seconds,
        "rows": len(prediction),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "checksum": float(np.asarray(prediction, dtype=np.float64).sum()),
    }
    print(json.dumps(body))


def _modelyard_cli(root: Path, out: Path) -> None:
    import os
    import subprocess

    import modelyard

    cli = Path(sys.executable).with_name("modelyard")
    env = {**os.environ, "MODELYARD_HOME": str(root / "home")}
    started = time.perf_counter()
    command = [str(cli), "predict", "models:/bench/1", "-i", str(root / "input.parquet"), "-o", str(out)]
    subprocess.run(command, check=True, env=env, capture_output=True)
    _report("modelyard_cli", started, out, version=modelyard.__version__)


TOOLS = {
    "plain": _plain,
    "mlflow": _mlflow,
    "modelyard": _modelyard,
    "modelyard_cli": _modelyard_cli,
    "ray_1": lambda root, out: _ray(1, root, out),
    "ray_2": lambda root, out: _ray(2, root, out),
}

if __name__ == "__main__":
    tool, root = sys.argv[1], Path(sys.argv[2])
    TOOLS[tool](root, root / f"out-{tool}.parquet")
