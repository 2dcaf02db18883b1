"""Batch inference: ``modelyard predict`` vs the plain script a user would write vs MLflow's pyfunc.

One Parquet file of ``ROWS`` rows x 30 float columns, scored by a scikit-learn pipeline (scaler +
logistic regression, fitted with feature names) saved three ways: joblib (the plain script),
``mlflow.sklearn.save_model`` and ``modelyard.models.save_model``. Each tool runs in a subprocess of
its own (``_batch_worker.py``), so its peak memory (``ru_maxrss``) is its own; time runs from the
loaded model to the written output. The predictions' checksums must be equal on every tool.

Targets (issue 19): modelyard >= 0.9x the plain script's rows/s, peak memory <= the plain script's;
on Ray, near-linear speed-up with workers (2 actors vs 1 here: the machine's cores bound it).
Full size: 1,000,000 rows (``--scale 0.1``: 100,000). Standalone: ``python benchmarks/batch.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `python benchmarks/batch.py`

from benchmarks._common import Case, Options, print_table

TITLE = "Batch inference: modelyard predict vs the plain script (and MLflow's pyfunc)"
INCUMBENT = "plain script"

ROWS = 1_000_000
COLUMNS = 30
TOOLS = ("plain", "mlflow", "modelyard", "modelyard_cli", "ray_1", "ray_2")
PARTS = 4  # the Ray cases read the same rows split in this many files
WORKER = Path(__file__).resolve().parent / "_batch_worker.py"
TARGET_SPEED = 0.9
TIMEOUT_S = 1_800

_versions: dict[str, str] = {}


def versions() -> dict[str, str]:
    return dict(_versions)


def prepare(root: Path, rows: int) -> None:
    """The input file and the same fitted model in the three formats."""
    import joblib
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from modelyard.models import save_model

    rng = np.random.default_rng(0)
    names = [f"f{i:02d}" for i in range(COLUMNS)]
    frame = pd.DataFrame(rng.normal(size=(rows, COLUMNS)), columns=names)
    train = frame.head(5_000)
    target = (train["f00"] + 0.5 * train["f01"] - train["f02"] + rng.normal(scale=0.5, size=len(train)) > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000)).fit(train, target)
    frame.to_parquet(root / "input.parquet", index=False)
    (root / "parts").mkdir()
    for index, part in enumerate(np.array_split(np.arange(rows), PARTS)):
        frame.iloc[part].to_parquet(root / "parts" / f"part-{index}.parquet", index=False)
    joblib.dump(model, root / "model.joblib")
    save_model(model, root / "modelyard-model", input_example=train.head(5))
    mlflow.sklearn.save_model(model, str(root / "mlflow-model"), input_example=train.head(5))
    register = (
        "import sys, joblib, pandas as pd, modelyard as my\n"
        "model = joblib.load(sys.argv[1])\n"
        "with my.start_run():\n"
        "    my.log_model(model, 'model', input_example=pd.read_parquet(sys.argv[2]).head(5))\n"
        "    my.register_model(f'runs:/{my.active_run().info.run_id}/model', 'bench')\n"
    )
    env = {**os.environ, "MODELYARD_HOME": str(root / "home")}
    subprocess.run(
        [sys.executable, "-c", register, str(root / "model.joblib"), str(root / "input.parquet")], check=True, env=env
    )


def _run_tool(tool: str, root: Path) -> dict[str, Any] | None:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(WORKER), tool, str(root)], capture_output=True, text=True, timeout=TIMEOUT_S
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        print(f"{tool} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_seconds"] = wall
    return result


def run(options: Options) -> list[Case]:
    rows = options.n(ROWS, minimum=10_000)
    with tempfile.TemporaryDirectory(prefix="modelyard-batch-bench-") as tmp:
        root = Path(tmp)
        prepare(root, rows)
        results = {tool: _run_tool(tool, root) for tool in TOOLS}
    plain, mlflow, mine, cli = results["plain"], results["mlflow"], results["modelyard"], results["modelyard_cli"]
    if plain is None or mine is None:
        return []
    for out in (mlflow, mine, cli, results.get("ray_1"), results.get("ray_2")):
        if out is not None and abs(out["checksum"] - plain["checksum"]) > 1e-6:
            raise SystemExit(f"{out['tool']} predicted differently from the plain script: the figures mean nothing")
        if out is not None and out["version"]:
            _versions[out["tool"]] = out["version"]
    rate = {tool: out["rows"] / out["seconds"] for tool, out in results.items() if out is not None}
    cases = [
        Case(
            name=f"rows/s, {rows:,} rows",
            unit="rows/s",
            modelyard=rate["modelyard"],
            incumbent=rate["plain"],
            higher_is_better=True,
            target=TARGET_SPEED,
            note=f"MLflow pyfunc: {rate['mlflow']:,.0f} rows/s" if "mlflow" in rate else "MLflow failed",
            details={tool: out for tool, out in results.items()},
        ),
        Case(
            name=f"peak memory, {rows:,} rows",
            unit="MiB",
            modelyard=mine["peak_mib"],
            incumbent=plain["peak_mib"],
            higher_is_better=False,
            target=1.0,
            note=f"MLflow pyfunc: {mlflow['peak_mib']:,.0f} MiB" if mlflow else "MLflow failed",
        ),
    ]
    if cli is not None:
        cases.append(
            Case(
                name=f"whole process, `modelyard predict` vs the script, {rows:,} rows",
                unit="rows/s",
                modelyard=rows / cli["process_seconds"],
                incumbent=rows / plain["process_seconds"],
                higher_is_better=True,
                target=TARGET_SPEED,
                note="start-up, imports, model resolution from the registry and the progress bar included",
            )
        )
    if results.get("ray_1") is not None and results.get("ray_2") is not None:
        cases.append(
            Case(
                name=f"Ray, 2 actors vs 1, {rows:,} rows in {PARTS} files",
                unit="rows/s (incumbent column: 1 actor)",
                modelyard=rate["ray_2"],
                incumbent=rate["ray_1"],
                higher_is_better=True,
                target=1.6,
                note="near-linear would be 2.0x; Ray's own start-up is outside the clock",
            )
        )
    if "mlflow" in rate:
        cases.append(
            Case(
                name=f"rows/s vs MLflow pyfunc, {rows:,} rows",
                unit="rows/s (incumbent column: MLflow)",
                modelyard=rate["modelyard"],
                incumbent=rate["mlflow"],
                higher_is_better=True,
            )
        )
    return cases


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    print_table(TITLE, INCUMBENT, run(Options(scale=args.scale)))
