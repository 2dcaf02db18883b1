"""Runs as a pandas DataFrame, with MLflow's column names (``metrics.auc``, ``params.lr`` …)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from modelyard.domain.tracking import Run

_INFO_COLUMNS = ["run_id", "experiment_id", "run_name", "status", "user", "artifact_uri", "start_time", "end_time"]


def runs_to_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run; times as UTC timestamps; a missing metric, param or tag is NaN.

    Built column by column (one list per column, filled in place): a dict per run handed to
    ``DataFrame.from_records`` cost more than fetching the runs for tens of thousands of them.
    Columns come in the order they are first met: the info columns, then each run's metrics,
    params and tags.
    """
    n = len(runs)
    columns: dict[str, list[object]] = {
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "run_name": [r.info.run_name for r in runs],
        "status": [r.info.status.value for r in runs],
        "user": [r.info.user for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
        "start_time": [r.info.start_time for r in runs],
        "end_time": [r.info.end_time for r in runs],
    }
    for row, run in enumerate(runs):
        for prefix, values in (("metrics.", run.data.metrics), ("params.", run.data.params), ("tags.", run.data.tags)):
            for key, value in values.items():
                column = columns.get(prefix + key)
                if column is None:
                    column = columns[prefix + key] = [_MISSING] * n
                column[row] = value
    frame = pd.DataFrame(columns) if runs else pd.DataFrame.from_records([], columns=_INFO_COLUMNS)
    for name in ("start_time", "end_time"):
        frame[name] = pd.to_datetime(frame[name], unit="ms", utc=True)
    return frame


_MISSING = float("nan")
