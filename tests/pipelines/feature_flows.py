"""A pipeline that builds point-in-time training data with the built-in ``historical_features`` step."""

from __future__ import annotations

import pandas as pd

from modelyard.pipelines import pipeline, step
from modelyard.pipelines.features import historical_features


@step
def label_rows(times: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {"card_id": [1, 2] * len(times), "event_timestamp": pd.to_datetime([t for t in times for _ in (1, 2)])}
    )


@step
def count_rows(frame: pd.DataFrame) -> dict[str, float]:
    return {"rows": float(len(frame)), "limit_sum": float(frame["credit_limit"].sum())}


@pipeline
def training_data(times: tuple[str, ...] = ("2026-01-01 01:00", "2026-01-01 06:00")) -> None:
    frame = historical_features(label_rows(times), ("card_profile:credit_limit",), dataset="card-train")
    count_rows(frame)
