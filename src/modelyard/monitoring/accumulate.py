"""What one monitor window accumulates while its chunks stream past, and how two partial windows merge.

A ``WindowAccumulator`` holds a window in bounded memory (see ``monitors``): exact counts (rows,
requests, null predictions), the performance accumulators (exact confusion counts and error
sums, a capped sample for ROC AUC) and two uniform samples capped at the monitor's
``max_sample_rows`` (the logged inputs and predictions for drift; the request latencies).

``merge`` makes a window computable in parts: the rows of a window can be split by segment, each
part accumulated elsewhere (a Ray task, see ``ray_windows``) and the parts merged in log order.
Counts and sums add exactly, so counts, error rate, confusion counts and the regression metrics
equal the single-process result bit for bit. The samples are bottom-k samples (each row draws a
uniform key, the smallest keys are kept): keeping the smallest keys of two samples is a uniform
sample of both parts' rows together, each part weighted by the rows it saw. A window that fits in
the cap is kept whole, in log order, so drift and latency figures then equal the single-process
ones exactly; above the cap they are an equally uniform sample drawn with other keys.

Part ``0`` draws its keys from the window's seed (the single-process stream); part ``k`` from a
seed derived from the window's and ``k``, so a run is deterministic and parts never share keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelyard.domain.monitoring import Monitor, Task
from modelyard.monitoring.performance import ClassificationAccumulator, RegressionAccumulator, infer_task
from modelyard.monitoring.windows import ReservoirSample

PREDICTION = "prediction"


class WindowAccumulator:
    """Counts, performance accumulators and capped samples of one window (see the module docstring).

    ``task`` overrides the monitor's (a part recomputed with the task the whole window inferred).
    """

    def __init__(
        self, monitor: Monitor, start_ms: int, end_ms: int, *, part: int = 0, task: Task | None = None
    ) -> None:
        self.monitor = monitor
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.rows = 0
        self.requests = 0
        self.null_predictions = 0
        self.task: Task | None = task or (None if monitor.task is Task.AUTO else monitor.task)
        self.labelled_seen = False  # whether a chunk had labelled rows (the task was settled by data)
        seed = part_seed(start_ms, part)
        self.sample = ReservoirSample(monitor.max_sample_rows, seed=seed)
        self.latency = ReservoirSample(monitor.max_sample_rows, seed=seed + 1)
        self.classification = ClassificationAccumulator(monitor.max_sample_rows, seed=seed + 2)
        self.regression = RegressionAccumulator()

    def add(self, chunk: pd.DataFrame) -> None:
        if chunk.empty:
            return
        self.rows += len(chunk)
        keep = [c for c in chunk.columns if str(c).startswith("input.") or c == PREDICTION]
        self.sample.add(chunk[keep])
        first_rows = chunk[chunk["row"] == 0] if "row" in chunk.columns else chunk
        self.requests += len(first_rows)
        if "latency_ms" in chunk.columns:
            self.latency.add(first_rows[["latency_ms"]])
        if PREDICTION not in chunk.columns:
            return
        self.null_predictions += int(chunk[PREDICTION].isna().sum())
        if "label" not in chunk.columns:
            return
        labelled = chunk[chunk["label"].notna() & chunk[PREDICTION].notna()]
        if labelled.empty:
            return
        self.labelled_seen = True
        if self.task is None:
            self.task = infer_task(labelled[PREDICTION])
        if self.task is Task.REGRESSION:
            self.regression.add(labelled["label"], labelled[PREDICTION])
        else:
            proba = labelled["probability"] if "probability" in labelled.columns else None
            self.classification.add(labelled["label"], labelled[PREDICTION], proba)

    def merge(self, other: WindowAccumulator) -> None:
        """Add ``other``'s rows, which come after this part's in the log (see the module docstring).

        Both parts must have settled on the same task; a part that inferred another one from its
        own first labelled chunk is recomputed with the window's task first (``ray_windows``).
        """
        if other.labelled_seen and self.labelled_seen and other.task is not self.task:
            raise ValueError(f"cannot merge a {other.task} part into a {self.task} window")
        self.rows += other.rows
        self.requests += other.requests
        self.null_predictions += other.null_predictions
        if other.labelled_seen and not self.labelled_seen:
            self.task, self.labelled_seen = other.task, True
        self.end_ms = max(self.end_ms, other.end_ms)
        self.sample.merge(other.sample)
        self.latency.merge(other.latency)
        self.classification.merge(other.classification)
        self.regression.merge(other.regression)

    def operational(self) -> dict[str, float]:
        out = {"error_rate": self.null_predictions / self.rows if self.rows else 0.0}
        latencies = self.latency.frame()
        if not latencies.empty:
            values = latencies["latency_ms"].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if values.size:
                p50, p95, p99 = np.percentile(values, [50, 95, 99])
                out.update(p50_latency_ms=float(p50), p95_latency_ms=float(p95), p99_latency_ms=float(p99))
                out["mean_latency_ms"] = float(values.mean())
        return out

    def performance(self) -> dict[str, float]:
        if self.task is Task.REGRESSION:
            return self.regression.metrics()
        return self.classification.metrics()


def part_seed(start_ms: int, part: int) -> int:
    """The sample seed of part ``part`` of the window starting at ``start_ms`` (part 0: the window's own)."""
    base = start_ms % (2**32)
    if part == 0:
        return base
    return int(np.random.SeedSequence([base, part]).generate_state(1)[0]) % (2**32 - 3)
