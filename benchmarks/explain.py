"""Explanations: modelyard's explainer and explain endpoint vs calling the shap library directly.

Cases (all on one core: the process is pinned to one CPU for the suite):

* one-row explain of a 100-tree random forest on 30 features (max depth 8), in process:
  ``Explainer.explain(row)`` (signature check included) vs ``shap.TreeExplainer.shap_values(row)``;
  target: under 10 ms;
* the same over HTTP, ``POST /v1/deployments/{name}/explain`` on a server in this process
  (parsing, signature check, explanation, prediction and JSON included) vs shap alone;
* the same forest grown to full depth: the tree algorithm's cost grows with leaves times depth²,
  for shap and modelyard alike;
* a global explanation of 100,000 rows (``explain_global``: every row's attributions, mean |SHAP|
  per feature, a kept sample) vs ``shap.TreeExplainer.shap_values`` on the same rows plus the mean.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import Case, Options, median_seconds

TITLE = "explain: SHAP attributions"
INCUMBENT = "shap alone"
FEATURES = 30
TREES = 100
LATENCY_TARGET_MS = 10.0


def versions() -> dict[str, str]:
    return {"shap": version("shap"), "scikit-learn": version("scikit-learn")}


def _data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, FEATURES)), columns=[f"f{i}" for i in range(FEATURES)])
    labels = ((frame["f0"] + frame["f1"] * frame["f2"] - frame["f3"] + 0.3 * rng.normal(size=rows)) > 0).astype(int)
    return frame, labels.to_numpy()


def _per_call_ms(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """Median and p95 milliseconds of ``calls`` calls of ``fn`` (after two warm-up calls)."""
    fn()
    fn()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), float(np.percentile(times, 95))


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
    import httpx
    from sklearn.ensemble import RandomForestClassifier

    from modelyard.explain import explain_global, explainer_for
    from modelyard.models import load_model_dir, save_model
    from modelyard.serving import DeploymentPlan, Mode, ServingPlan, Variant, create_app, start_in_thread

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
        ours, ours_p95 = _per_call_ms(lambda e=explainer, r=row: e.explain(r), calls)
        theirs, theirs_p95 = _per_call_ms(lambda x=reference, r=row: x.shap_values(r), calls)
        leaves = float(np.mean([t.tree_.n_leaves for t in model.estimators_]))
        label = "depth 8" if depth else "full depth"
        target = f"target < {LATENCY_TARGET_MS:g} ms: {'met' if ours < LATENCY_TARGET_MS else 'missed'}; "
        cases.append(
            Case(
                name=f"one-row explain, {TREES} trees ({label}), {FEATURES} features",
                unit="ms (median)",
                modelyard=ours,
                incumbent=theirs,
                higher_is_better=False,
                note=f"{target}p95 {ours_p95:.2f} vs {theirs_p95:.2f} ms; {leaves:.0f} leaves per tree on average",
                details={"p95_ms": ours_p95, "incumbent_p95_ms": theirs_p95, "calls": calls, "leaves": leaves},
            )
        )
        if depth is None:
            continue
        plan = ServingPlan(
            [
                DeploymentPlan(
                    name="forest",
                    variants=(Variant(name="blue", model_version="forest/1", predictor=predictor, mode=Mode.PRIMARY),),
                )
            ]
        )
        server = start_in_thread(create_app(plan))
        try:
            body = row.to_dict(orient="records")
            with httpx.Client(base_url=server.url, timeout=60) as client:

                def call(c: httpx.Client = client, b: object = body) -> None:
                    c.post("/v1/deployments/forest/explain", json=b).raise_for_status()

                http_ms, http_p95 = _per_call_ms(call, calls)
        finally:
            server.stop()
        cases.append(
            Case(
                name=f"one-row explain over HTTP, {TREES} trees (depth 8)",
                unit="ms (median)",
                modelyard=http_ms,
                incumbent=theirs,
                higher_is_better=False,
                note=f"the whole request (JSON, signature, explanation, prediction); p95 {http_p95:.2f} ms",
                details={"p95_ms": http_p95, "calls": calls},
            )
        )
        rows = options.n(100_000, minimum=1_000)
        data, _ = _data(rows, seed=1)
        ours_s, ours_all = median_seconds(
            lambda p=predictor, d=data: explain_global(p, d), max(1, options.repeats // 3)
        )

        def alone(x: object = reference, d: pd.DataFrame = data) -> None:
            values = x.shap_values(d)  # type: ignore[attr-defined]
            np.abs(values[:, :, 1]).mean(axis=0)

        theirs_s, theirs_all = median_seconds(alone, max(1, options.repeats // 3))
        cases.append(
            Case(
                name=f"global explanation, {rows:,} rows, {TREES} trees (depth 8)",
                unit="s",
                modelyard=ours_s,
                incumbent=theirs_s,
                higher_is_better=False,
                note="mean |SHAP| per feature over every row; modelyard also keeps a 500-row attribution sample",
                details={"runs": ours_all, "incumbent_runs": theirs_all, "rows": rows},
            )
        )
    return cases
