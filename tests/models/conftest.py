"""Small frames and a save-then-load helper shared by the model-format tests.

Datasets are tiny (tens of rows) and models small, so each flavor round-trip stays well under a
second; the point is the format, not the model quality.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelyard.models import ModelManifest, Predictor, load_model_dir, save_model

SaveLoad = Callable[..., tuple[ModelManifest, Predictor]]


@pytest.fixture
def numeric_frame() -> pd.DataFrame:
    """40 rows: two float features and one integer feature."""
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "x1": rng.normal(size=40),
            "x2": rng.normal(size=40),
            "n": rng.integers(0, 5, size=40),
        }
    )


@pytest.fixture
def binary_target(numeric_frame: pd.DataFrame) -> np.ndarray:
    return (numeric_frame["x1"] + 0.5 * numeric_frame["x2"] > 0).astype(int).to_numpy()


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """40 rows with a float, an integer and a string column (for pipelines with encoders)."""
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, size=40),
            "visits": rng.integers(0, 20, size=40),
            "city": rng.choice(["paris", "lyon", "nice"], size=40).astype(object),
        }
    )


@pytest.fixture
def save_load(tmp_path: Path) -> SaveLoad:
    """Save a model into a new folder under ``tmp_path`` and load it back (a fresh folder per call)."""
    counter = iter(range(1_000))

    def run(model: Any, **kwargs: Any) -> tuple[ModelManifest, Predictor]:
        target = tmp_path / f"model-{next(counter)}"
        manifest = save_model(model, target, **kwargs)
        return manifest, load_model_dir(target)

    return run
