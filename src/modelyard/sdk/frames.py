"""Runs as a pandas DataFrame, with MLflow's column names (``metrics.auc``, ``params.lr`` …)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from modelyard.domain.tracking import Run

_INFO_COLUMNS = ["run_id", "experiment_id", "run_name", "status", "user", "artifact_uri", "start_time", "end_time"]


def runs_to_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run; times as UTC timestamps; a missing metric is NaN, a missing param None."""
    records = []
    for run in runs:
        info = run.info
        record: dict[str, object] = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "run_name": info.run_name,
            "status": info.status.value,
            "user": info.user,
            "artifact_uri": info.artifact_uri,
            "start_time": info.start_time,
            "end_time": info.end_time,
        }
        record.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        record.update({f"params.{k}": v for k, v in run.data.params.items()})
        record.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=None if records else _INFO_COLUMNS)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    return frame
