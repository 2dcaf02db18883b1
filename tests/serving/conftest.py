"""Small scikit-learn models saved and loaded through the model format, and real servers on loopback.

``server_factory`` starts the serving app on uvicorn in a thread on 127.0.0.1 with a free port and
waits for ``/v2/health/ready``; every server it started is stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelyard.models import Predictor, load_model_dir, save_model
from modelyard.serving import (
    DeploymentPlan,
    Mode,
    PlanHolder,
    RunningServer,
    ServingPlan,
    Variant,
    create_app,
    start_in_thread,
)

COLUMNS = ["x1", "x2", "n"]


class FailingModel:
    """Raises on every call: a broken shadow."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("shadow is broken")


class ConstantModel:
    """Always says ``label``: a shadow whose disagreement with the primary is easy to count."""

    def __init__(self, label: int) -> None:
        self.label = label

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return np.full(len(df), self.label)


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {"x1": rng.normal(size=60), "x2": rng.normal(size=60), "n": rng.integers(0, 5, size=60).astype(np.int64)}
    )


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Any], Predictor]:
    """Saves ``model`` once per name and loads it back as a Predictor."""
    root = tmp_path_factory.mktemp("models")
    cache: dict[str, Predictor] = {}

    def make(name: str, model: Any, example: pd.DataFrame) -> Predictor:
        if name not in cache:
            path = Path(root) / name
            save_model(model, path, input_example=example.head(5))
            cache[name] = load_model_dir(path)
        return cache[name]

    return make  # type: ignore[return-value]


@pytest.fixture(scope="session")
def classifier(frame: pd.DataFrame, model_dir: Any) -> Predictor:
    y = (frame["x1"] + frame["x2"] > 0).astype(int)
    return model_dir("clf", LogisticRegression().fit(frame, y), frame)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def classifier_b(frame: pd.DataFrame, model_dir: Any) -> Predictor:
    y = (frame["x1"] > 0).astype(int)
    return model_dir("clf_b", LogisticRegression().fit(frame, y), frame)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def regressor(frame: pd.DataFrame, model_dir: Any) -> Predictor:
    y = 3 * frame["x1"] + frame["n"]
    return model_dir("reg", LinearRegression().fit(frame, y), frame)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def failing(frame: pd.DataFrame, model_dir: Any) -> Predictor:
    return model_dir("failing", FailingModel(), frame)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def constant_one(frame: pd.DataFrame, model_dir: Any) -> Predictor:
    return model_dir("const1", ConstantModel(1), frame)  # type: ignore[no-any-return]


@pytest.fixture
def single_plan(classifier: Predictor) -> ServingPlan:
    """One deployment ``churn`` with a single primary."""
    return ServingPlan([DeploymentPlan(name="churn", variants=(primary(classifier),))])


def primary(predictor: Predictor, name: str = "blue", version: str = "churn/1") -> Variant:
    return Variant(name=name, model_version=version, predictor=predictor, mode=Mode.PRIMARY)


ServerFactory = Callable[..., RunningServer]


@pytest.fixture
def server_factory() -> Iterator[ServerFactory]:
    started: list[RunningServer] = []

    def start(plan: ServingPlan | PlanHolder, **options: Any) -> RunningServer:
        app = create_app(plan, **options)
        running = start_in_thread(app)
        running.app = app  # type: ignore[attr-defined]
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def rows(frame: pd.DataFrame, count: int = 3) -> list[dict[str, Any]]:
    return frame.head(count).to_dict(orient="records")  # type: ignore[return-value]
