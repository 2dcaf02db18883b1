"""What the inference log and late feedback are made of: an indexed Parquet segment, a late label.

A segment is one Parquet file of served requests of one deployment within one UTC hour; its index
row lets a reader find the files of a time window with one query instead of listing a bucket.
A feedback record is the ground truth for one request id, known later than the prediction
(a chargeback, a churned customer); the latest label recorded for a request id wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ATTRIBUTION_PREFIX = "attribution."
"""Columns ``attribution.<feature>`` of the inference log: a sampled request's SHAP attributions."""
ATTRIBUTION_BASE = "attribution_base"
"""The explainer's base value of those rows (null for rows not explained)."""


@dataclass(frozen=True, kw_only=True)
class InferenceSegment:
    """One written Parquet segment: rows of ``deployment`` with ``start_ms <= time_ms <= end_ms``."""

    id: str
    deployment: str
    start_ms: int
    end_ms: int
    row_count: int
    uri: str
    created_ms: int


@dataclass(frozen=True, kw_only=True)
class Feedback:
    """The ground-truth ``label`` (any JSON value) of the request ``request_id``, recorded at ``time_ms``."""

    request_id: str
    label: Any
    time_ms: int
