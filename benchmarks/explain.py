"""Explanations: modelyard's explainer and explain endpoint vs calling the shap library directly.

Cases (all on one core: the process is pinned to one CPU for the suite; in-process figures are CPU
time, what a call costs one core, since on a shared machine wall-clock time mostly measures the
wait for a core; the wall-clock figures are in the notes):

* one-row explain of a 100-tree random forest on 30 features (max depth 8), in process:
  ``Explainer.explain(row)`` (signature check included) vs ``shap.TreeExplainer.shap_values(row)``;
  target: under 10 ms;
* the same over HTTP, ``POST /v1/deployments/{name}/explain`` on a server in a process of its
  own on the same CPU (parsing, signature check, explanation, prediction and JSON included) vs
  shap alone;
* the same forest grown to full depth: the tree algorithm's cost grows with leaves times depth²,
  for shap and modelyard alike;
* a global explanation of 100,000 rows (``explain_global``: every row's attributions, mean |SHAP|
  per feature, a kept sample) vs ``shap.TreeExplainer.shap_values`` on the same rows plus the mean.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import Case, Options

TITLE = "explain: SHAP attributions"
INCUMBENT = "shap alone"
FEATURES = 30
TREES = 100
LATENCY_TARGET_MS = 10.0
WORKER = Path(__file__).resolve().parent / "_explain_worker.py"


def versions() -> dict[str, str]:
    return {"shap": version("shap"), "scikit-learn": version("scikit-learn")}


def _data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, FEATURES)), columns=[f"f{i}" for i in range(FEATURES)])
    labels = ((frame["f0"] + frame["f1"] * frame["f2"] - frame["f3"] + 0.3 * rng.normal(size=rows)) > 0).astype(int)
    return frame, labels.to_numpy()


def _per_call_ms(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """Median and p95 wall-clock milliseconds of ``calls`` calls of ``fn`` (after two warm-up calls)."""
    wall, _ = _timings(fn, calls)
    return statistics.median(wall), float(np.percentile(wall, 95))


def _timings(fn: Callable[[], object], calls: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this thread's) milliseconds of each call. On a shared machine the CPU
    time is what the call costs one core; the wall time adds the waits for a core."""
    fn()
    fn()
    wall, cpu = [], []
    for _ in range(calls):
        started, started_cpu = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return wall, cpu


def _over_http(model_dir: Path, body: list[dict[str, object]], calls: int) -> tuple[float, float]:
    """Median and p95 ms of one-row explain requests to a server in its own process (``_explain_worker``)."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cpu = 0
    if hasattr(os, "sched_getaffinity"):  # another CPU than this (pinned) process's when there is one
        mine = os.sched_getaffinity(0)
        others = sorted(set(range(os.cpu_count() or 1)) - mine)
        cpu = others[0] if others else min(mine)
    command = [sys.executable, str(WORKER), str(model_dir), str(port), str(cpu)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the explain server did not start: {process.stderr.read() if process.stderr else ''}"
                )
            time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=120) as client:

            def call() -> None:
                client.post("/v1/deployments/forest/explain", json=body).raise_for_status()

            return _per_call_ms(call, calls)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def _cpu_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """The median CPU seconds (this process) of ``repeats`` calls of ``fn``, and all of them."""
    times = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return statistics.median(times), times


def run(options: Options) -> list[Case]:
    pinned = hasattr(os, "sched_setaffinity")
    before = os.sched_getaffinity(0) if pinned else set()
    if pinned:
        os.sched_setaffinity(0, {min(before)})
    try:
        return _run(options)
    finally:
        if pinned:
            os.sched_setaffinity(0, before)


def _run(options: Options) -> list[Case]:
    from sklearn.ensemble import RandomForestClassifier

    from modelyard.explain import explain_global, explainer_for
    from modelyard.models import load_model_dir, save_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap

    cases: list[Case] = []
    train, labels = _data(5_000)
    calls = options.n(200, minimum=20)
    folder = Path(tempfile.mkdtemp(prefix="modelyard-bench-explain-"))
    for depth in (8, None):
        model = RandomForestClassifier(n_estimators=TREES, max_depth=depth, random_state=0, n_jobs=1)
        model.fit(train, labels)
        path = folder / f"forest-{depth}"
        save_model(model, path, input_example=train.head(5))
        predictor = load_model_dir(path)
        explainer = explainer_for(predictor)
        reference = shap.TreeExplainer(model)
        row = train.iloc[[17]]
        ours_wall, ours_cpu = _timings(lambda e=explainer, r=row: e.explain(r), calls)
        theirs_wall, theirs_cpu = _timings(lambda x=reference, r=row: x.shap_values(r), calls)
        ours, ours_p95 = statistics.median(ours_cpu), float(np.percentile(ours_cpu, 95))
        theirs, theirs_p95 = statistics.median(theirs_cpu), float(np.percentile(theirs_cpu, 95))
        wall = statistics.median(ours_wall), statistics.median(theirs_wall)
        leaves = float(np.mean([t.tree_.n_leaves for t in model.estimators_]))
        label = "depth 8" if depth else "full depth"
        target = f"target < {LATENCY_TARGET_MS:g} ms: {'met' if ours < LATENCY_TARGET_MS else 'missed'}; "
        cases.append(
            Case(
                name=f"one-row explain, {TREES} trees ({label}), {FEATURES} features",
                unit="CPU ms (median)",
                modelyard=ours,
                incumbent=theirs,
                higher_is_better=False,
                note=(
                    f"{target}p95 {ours_p95:.2f} vs {theirs_p95:.2f} CPU ms; wall-clock median {wall[0]:.2f} vs "
                    f"{wall[1]:.2f} ms on this (shared) machine; {leaves:.0f} leaves per tree on average"
                ),
                details={
                    "p95_cpu_ms": ours_p95,
                    "incumbent_p95_cpu_ms": theirs_p95,
                    "wall_median_ms": wall[0],
                    "incumbent_wall_median_ms": wall[1],
                    "calls": calls,
                    "leaves": leaves,
                },
            )
        )
        if depth is None:
            continue
        http_ms, http_p95 = _over_http(path, row.to_dict(orient="records"), calls)
        cases.append(
            Case(
                name=f"one-row explain over HTTP, {TREES} trees (depth 8)",
                unit="ms (median)",
                modelyard=http_ms,
                incumbent=theirs,
                higher_is_better=False,
                note=(
                    f"the whole request (JSON, signature, explanation, prediction), server pinned to one CPU "
                    f"in its own process; p95 {http_p95:.2f} ms"
                ),
                details={"p95_ms": http_p95, "calls": calls},
            )
        )
        rows = options.n(100_000, minimum=1_000)
        data, _ = _data(rows, seed=1)
        ours_s, ours_all = _cpu_seconds(lambda p=predictor, d=data: explain_global(p, d), max(1, options.repeats // 3))

        def alone(x: object = reference, d: pd.DataFrame = data) -> None:
            values = x.shap_values(d)  # type: ignore[attr-defined]
            np.abs(values[:, :, 1]).mean(axis=0)

        theirs_s, theirs_all = _cpu_seconds(alone, max(1, options.repeats // 3))
        cases.append(
            Case(
                name=f"global explanation, {rows:,} rows, {TREES} trees (depth 8)",
                unit="CPU s",
                modelyard=ours_s,
                incumbent=theirs_s,
                higher_is_better=False,
                note="mean |SHAP| per feature over every row; modelyard also keeps a 500-row attribution sample",
                details={"runs": ours_all, "incumbent_runs": theirs_all, "rows": rows},
            )
        )
    return cases
