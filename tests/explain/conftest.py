"""Explain fixtures: a small tabular problem, models of every supported flavor saved and loaded
through the model format, and a client on a fresh store (each engine)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.models import Predictor, load_model_dir, save_model
from modelyard.sdk.client import Client

COLUMNS = ["a", "b", "c", "d", "e"]


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(rng.normal(size=(400, len(COLUMNS))), columns=COLUMNS)


@pytest.fixture(scope="session")
def labels(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["a"] + frame["b"] * frame["c"] - 0.5 * frame["d"]) > 0).astype(int).to_numpy()


@pytest.fixture(scope="session")
def saved(tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame) -> Callable[[str, Any], Predictor]:
    """Saves a fitted model once per name through the model format and loads it back."""
    root = tmp_path_factory.mktemp("explain-models")
    cache: dict[str, Predictor] = {}

    def make(name: str, model: Any) -> Predictor:
        if name not in cache:
            save_model(model, Path(root) / name, input_example=frame.head(20))
            cache[name] = load_model_dir(Path(root) / name)
        return cache[name]

    return make


@pytest.fixture
def client(settings: Settings) -> Client:
    return Client(settings)
