"""Helpers for deployment tests: registered model versions in a real store, and a model that always fails."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from modelyard.config import Settings
from modelyard.sdk.client import Client

FEATURES = pd.DataFrame({"x1": np.linspace(-2, 2, 40), "x2": np.tile([1.0, -1.0], 20)})


class AlwaysFails:
    """A canary that raises on every call."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("this canary is broken")


class Constant:
    """Always answers ``label``."""

    def __init__(self, label: int) -> None:
        self.label = label

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return np.full(len(df), self.label)


def classifier(threshold: float = 0.0) -> LogisticRegression:
    return LogisticRegression().fit(FEATURES, (FEATURES["x1"] > threshold).astype(int))


def register(settings: Settings, name: str, models: list[Any], *, champion: int | None = 1) -> Client:
    """Register each of ``models`` as versions 1..N of ``name``; ``@champion`` points at ``champion``."""
    client = Client(settings)
    run = client.create_run()
    for index, model in enumerate(models):
        client.registry.log_model(
            run.info.run_id,
            model,
            f"m{index}",
            input_example=FEATURES.head(3),
            registered_model_name=name,
        )
    client.set_terminated(run.info.run_id)
    if champion is not None:
        client.registry.set_registered_model_alias(name, "champion", champion)
    return client
