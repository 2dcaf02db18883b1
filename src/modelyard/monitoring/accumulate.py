"""What one monitor window accumulates while its chunks stream past, and how two partial windows merge.

A ``WindowAccumulator`` holds a window in bounded memory (see ``monitors``): exact counts (rows,
requests, server errors, invalid requests, null predictions of old segments), the performance
accumulators (exact confusion counts and error sums, a capped sample for ROC AUC) and two uniform
samples capped at the monitor's ``max_sample_rows``
(the logged inputs and predictions for drift; the request latencies).

Failed requests (``status``/``error`` in the inference log): ``error_rate`` is the share of
requests the server failed (status >= 500, or an error kind other than ``invalid_input``),
``invalid_rate`` the share refused as the caller's mistake (4xx), which is a data-quality figure,
never the model's error. Drift and latency use answered requests only (a refused body's values and
a fast 422 say nothing of the traffic the model answers). Segments written before the log had a
``status`` column hold answered requests only; their rows count as before: a null prediction is
an error, per row.

``merge`` makes a window computable in parts: the rows of a window can be split by segment, each
part accumulated elsewhere (a Ray task, see ``ray_windows``) and the parts merged in log order.
Counts and sums add exactly, so counts, error rate, confusion counts and the regression metrics
equal the single-process result bit for bit. The samples are bottom-k samples (each row draws a
uniform key, the smallest keys are kept): keeping the smallest keys of two samples is a uniform
sample of both parts' rows together, each part weighted by the rows it saw. A window that fits in
the cap is kept whole, in log order, so drift and latency figures then equal the single-process
ones exactly; above the cap they are an equally uniform sample drawn with other keys.

Logged attributions (a deployment's ``explain_sample``, columns ``attribution.<feature>``): the
sums of each feature's |attribution| over every explained row, per model version, add up exactly
too; a monitor whose explainer is the server's reads its attribution shares from them instead of
explaining the window again (``monitors``).

Part ``0`` draws its keys from the window's seed (the single-process stream); part ``k`` from a
seed derived from the window's and ``k``, so a run is deterministic and parts never share keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelyard.domain.inference import ATTRIBUTION_BASE, ATTRIBUTION_PREFIX
from modelyard.domain.monitoring import Monitor, Task
from modelyard.monitoring.performance import ClassificationAccumulator, RegressionAccumulator, infer_task
from modelyard.monitoring.windows import ReservoirSample

PREDICTION = "prediction"
STATUS = "status"
ERROR = "error"
OK = 200
INVALID_INPUT = "invalid_input"


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
        self.null_predictions = 0  # rows of old segments (no ``status``) whose prediction is null
        self.legacy_rows = 0  # rows of old segments
        self.status_requests = 0  # requests with a ``status`` (the layout that logs failures)
        self.server_errors = 0
        self.invalid_requests = 0
        self.task: Task | None = task or (None if monitor.task is Task.AUTO else monitor.task)
        self.labelled_seen = False  # whether a chunk had labelled rows (the task was settled by data)
        seed = part_seed(start_ms, part)
        self.sample = ReservoirSample(monitor.max_sample_rows, seed=seed)
        self.latency = ReservoirSample(monitor.max_sample_rows, seed=seed + 1)
        self.classification = ClassificationAccumulator(monitor.max_sample_rows, seed=seed + 2)
        self.regression = RegressionAccumulator()
        self.attributions: dict[
            str, tuple[int, dict[str, float]]
        ] = {}  # model version -> (rows, sum |phi| per feature)

    def add(self, chunk: pd.DataFrame) -> None:
        if chunk.empty:
            return
        self.rows += len(chunk)
        status = (
            pd.to_numeric(chunk[STATUS], errors="coerce")
            if STATUS in chunk.columns
            else pd.Series(np.nan, index=chunk.index)
        )
        legacy = status.isna()  # a segment from before failures were logged: every request answered
        failed = ~legacy & (status != OK)
        answered = chunk[~failed] if failed.any() else chunk
        keep = [c for c in chunk.columns if str(c).startswith("input.") or c == PREDICTION]
        if not answered.empty:  # a segment of failures only: its columns' types must not reach the sample
            self.sample.add(answered[keep])
        first = chunk["row"] == 0 if "row" in chunk.columns else pd.Series(True, index=chunk.index)
        self.requests += int(first.sum())
        self._count_failures(status[first & ~legacy], chunk.loc[first & ~legacy])
        if "latency_ms" in chunk.columns:
            self.latency.add(chunk.loc[first & ~failed, ["latency_ms"]])
        self.legacy_rows += int(legacy.sum())
        if ATTRIBUTION_BASE in chunk.columns and "model_version" in chunk.columns:
            self._add_attributions(chunk)
        if PREDICTION not in chunk.columns:
            return
        self.null_predictions += int((chunk[PREDICTION].isna() & legacy).sum())
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

    def _add_attributions(self, chunk: pd.DataFrame) -> None:
        """Sum |attribution| per feature over the chunk's explained rows, per model version."""
        explained = chunk[chunk[ATTRIBUTION_BASE].notna()]
        if explained.empty:
            return
        columns = [c for c in chunk.columns if str(c).startswith(ATTRIBUTION_PREFIX)]
        for version, rows in explained.groupby("model_version", sort=False):
            sums = rows[columns].abs().sum(axis=0, min_count=1)
            count, totals = self.attributions.get(str(version), (0, {}))
            for column, value in sums.items():
                if pd.notna(value):
                    name = str(column)[len(ATTRIBUTION_PREFIX) :]
                    totals[name] = totals.get(name, 0.0) + float(value)
            self.attributions[str(version)] = (count + len(rows), totals)

    def _count_failures(self, status: pd.Series, requests: pd.DataFrame) -> None:
        """Count server and caller errors among ``requests`` (first rows with a ``status``)."""
        error = requests[ERROR] if ERROR in requests.columns else pd.Series(None, index=requests.index, dtype=object)
        caller = ((status >= 400) & (status < 500)) | (error == INVALID_INPUT)
        server = (status >= 500) | (error.notna() & ~caller)
        self.status_requests += len(requests)
        self.server_errors += int(server.sum())
        self.invalid_requests += int(caller.sum())

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
        self.legacy_rows += other.legacy_rows
        self.status_requests += other.status_requests
        self.server_errors += other.server_errors
        self.invalid_requests += other.invalid_requests
        if other.labelled_seen and not self.labelled_seen:
            self.task, self.labelled_seen = other.task, True
        self.end_ms = max(self.end_ms, other.end_ms)
        self.sample.merge(other.sample)
        self.latency.merge(other.latency)
        self.classification.merge(other.classification)
        self.regression.merge(other.regression)
        for version, (count, totals) in other.attributions.items():
            mine_count, mine = self.attributions.get(version, (0, {}))
            for name, value in totals.items():
                mine[name] = mine.get(name, 0.0) + value
            self.attributions[version] = (mine_count + count, mine)

    def operational(self) -> dict[str, float]:
        counted = self.status_requests + self.legacy_rows  # requests, or rows of old segments
        out = {
            "error_rate": (self.server_errors + self.null_predictions) / counted if counted else 0.0,
            "invalid_rate": self.invalid_requests / self.requests if self.requests else 0.0,
        }
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
