"""Steps and pipelines the tests run: module-level, so child processes can import them.

Every step appends its id to the file named by ``trace`` (when given) as it executes, so a test can
tell which steps really ran, independently of what the store says.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from modelyard.models import Predictor
from modelyard.pipelines import pipeline, step


def _trace(trace: str, name: str) -> None:
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")


@step
def make_data(rows: int, seed: int, trace: str = "") -> pd.DataFrame:
    _trace(trace, "make_data")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "y": (x[:, 0] + x[:, 1] > 0).astype("int64")})


@step
def make_weights(size: int, trace: str = "") -> np.ndarray:
    _trace(trace, "make_weights")
    return np.arange(size, dtype="float64")


@step
def fit(frame: pd.DataFrame, c: float, trace: str = "") -> LogisticRegression:
    _trace(trace, "fit")
    return LogisticRegression(C=c).fit(frame[["x1", "x2"]], frame["y"])


@step
def score(model: Predictor, frame: pd.DataFrame, weights: np.ndarray, trace: str = "") -> dict[str, float]:
    _trace(trace, "score")
    predicted = np.asarray(model.predict(frame[["x1", "x2"]]))
    return {"accuracy": float((predicted == frame["y"].to_numpy()).mean()), "weight_sum": float(weights.sum())}


@step
def maybe_fail(report: dict[str, float], marker: str, trace: str = "") -> dict[str, float]:
    """Fails while the file ``marker`` exists: the "bug" a test fixes before resuming."""
    _trace(trace, "maybe_fail")
    if Path(marker).exists():
        raise RuntimeError("the marker file says fail")
    return {"final": report["accuracy"]}


@step
def publish(final: dict[str, float], trace: str = "") -> str:
    _trace(trace, "publish")
    return f"accuracy={final['final']:.3f}"


@pipeline
def training(c: float = 1.0, rows: int = 200, trace: str = "") -> None:
    frame = make_data(rows, seed=0, trace=trace)
    weights = make_weights(3, trace=trace)
    model = fit(frame, c=c, trace=trace)
    score(model, frame, weights, trace=trace)


@pipeline
def fragile(marker: str, trace: str = "") -> None:
    frame = make_data(100, seed=1, trace=trace)
    weights = make_weights(4, trace=trace)
    model = fit(frame, c=1.0, trace=trace)
    report = score(model, frame, weights, trace=trace)
    publish(maybe_fail(report, marker=marker, trace=trace), trace=trace)


RENDEZVOUS_WAIT_S = 120.0  # how long a step waits to see its sibling running; only a serial executor runs out


@step(cache=False)
def arrive(rendezvous: str, label: str, other: str) -> dict[str, float]:
    """Marks itself as running (a file named ``label``), then waits until ``other`` has done the same.

    Seeing the sibling's file while still running proves both steps were running at once, whatever
    the machine's speed; a serial executor would leave the first step waiting alone (``met`` 0).
    """
    folder = Path(rendezvous)
    (folder / label).write_text(str(os.getpid()))
    deadline = time.monotonic() + RENDEZVOUS_WAIT_S
    while not (folder / other).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"met": float((folder / other).exists()), "pid": float(os.getpid())}


@step(cache=False)
def pair(a: dict[str, float], b: dict[str, float]) -> bool:
    return bool(a["met"] and b["met"])


@pipeline
def rendezvous(folder: str) -> None:
    pair(arrive(folder, label="a", other="b"), arrive(folder, label="b", other="a"))


@step(cache=False)
def nap(seconds: float, label: str) -> dict[str, float]:
    """Sleeps, and returns when it started and ended (epoch seconds) and in which process."""
    start = time.time()
    time.sleep(seconds)
    return {"start": start, "end": time.time(), "pid": float(os.getpid()), "label_len": float(len(label))}


@step(cache=False)
def both(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {"a_start": a["start"], "b_start": b["start"]}


@pipeline
def naps(seconds: float = 1.5) -> None:
    both(nap(seconds, label="a"), nap(seconds, label="b"))


@step(retries=2, backoff_s=0.01, cache=False)
def flaky(counter: str, fail_times: int) -> int:
    """Fails on its first ``fail_times`` calls (counted in the file ``counter``)."""
    path = Path(counter)
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls <= fail_times:
        raise ConnectionError(f"transient failure {calls}")
    return calls


@pipeline
def retrying(counter: str, fail_times: int = 2) -> None:
    flaky(counter, fail_times)


@step(timeout_s=1.0, cache=False)
def stuck(seconds: float, pidfile: str) -> int:
    Path(pidfile).write_text(str(os.getpid()))
    time.sleep(seconds)
    return 1


@pipeline
def hanging(pidfile: str, seconds: float = 30.0) -> None:
    stuck(seconds, pidfile)
