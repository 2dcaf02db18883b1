"""A data-validation-only pipeline for the generated CI files: the stage that runs before training."""

from __future__ import annotations

from modelyard.pipelines import pipeline
from modelyard.pipelines.validation import validate_data
from tests.pipelines.gated_flows import EXPECTATIONS, make_segments


@pipeline
def validation(corrupt: bool = False) -> None:
    validate_data(make_segments(300, 0, 1.0, corrupt), EXPECTATIONS)
