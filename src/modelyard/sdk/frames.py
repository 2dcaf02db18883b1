"""Runs as a pandas DataFrame, with MLflow's column names (``metrics.auc``, ``params.lr`` …)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelyard.domain.tracking import RunColumns

_INFO_COLUMNS = ["run_id", "experiment_id", "run_name", "status", "user", "artifact_uri", "start_time", "end_time"]
_KINDS = {"metrics.": 0, "params.": 1, "tags.": 2}


def columns_to_frame(runs: RunColumns) -> pd.DataFrame:
    """One row per run; times as UTC timestamps; a missing metric, param or tag is NaN.

    Each logged column is one array filled in place from the rows holding a value (a float array
    for metrics, objects for params and tags): no dict or list per run, which cost more than
    fetching the runs for tens of thousands of them. Columns come in the order they are first met
    by row: the info columns, then each run's metrics, params and tags.
    """
    n = len(runs.infos)
    if not n:
        return pd.DataFrame.from_records([], columns=_INFO_COLUMNS)
    infos = runs.infos
    data: dict[str, object] = {
        "run_id": [i.run_id for i in infos],
        "experiment_id": [i.experiment_id for i in infos],
        "run_name": [i.run_name for i in infos],
        "status": [i.status.value for i in infos],
        "user": [i.user for i in infos],
        "artifact_uri": [i.artifact_uri for i in infos],
        "start_time": pd.to_datetime([i.start_time for i in infos], unit="ms", utc=True),
        "end_time": pd.to_datetime([i.end_time for i in infos], unit="ms", utc=True),
    }
    placed = []
    for name, (rows, values) in runs.columns.items():
        where = np.asarray(rows, dtype=np.int64)
        kind = _KINDS[name[: name.index(".") + 1]]
        column = np.full(n, np.nan, dtype=np.float64 if kind == 0 else object)
        column[where] = np.asarray(values, dtype=np.float64) if kind == 0 else _objects(values)
        placed.append((int(where.min()), kind, name, column))
    for _, _, name, column in sorted(placed, key=lambda p: (p[0], p[1])):  # stable: met order within a run
        data[name] = column
    return pd.DataFrame(data)


def _objects(values: object) -> np.ndarray:
    """``values`` as a one-dimensional object array (``np.asarray`` would split strings of a list of
    equal-length sequences into a 2-D array)."""
    items = list(values)  # type: ignore[call-overload]
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out
