"""Pipelines the trigger tests schedule: module-level, so the scheduler can import them by target."""

from __future__ import annotations

from pathlib import Path

from modelyard.pipelines import StepContext, pipeline, step


@step(cache=False)
def tally(label: str, trace: str) -> str:
    """Appends ``label`` to the file ``trace`` each time it really runs."""
    with open(trace, "a", encoding="utf-8") as fh:
        fh.write(label + "\n")
    return label


@pipeline
def nightly(trace: str, label: str = "nightly") -> None:
    tally(label, trace)


@step(cache=False)
def count_rows(dataset: str, context: StepContext) -> dict[str, float]:
    """Loads the dataset version the trigger passed, as a retraining step would."""
    frame = context.client.backend.datasets.load(dataset, None)
    return {"rows": float(len(frame))}


@pipeline
def retrain(dataset: str) -> None:
    count_rows(dataset)


@pipeline
def broken(trace: str) -> None:
    raise RuntimeError(f"cannot plan with {Path(trace).name}")
