"""Registry fixtures: the services over a fresh store (each engine), a run, small fitted models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelyard.domain.registry import LoggedModel, ModelVersion
from modelyard.registry import (
    AliasService,
    LoggedModelService,
    ModelResolver,
    ModelVersionService,
    RegisteredModelService,
    StageService,
)
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.tracking import ExperimentService, RunService


@dataclass
class Registry:
    db: Database
    store: ArtifactStore
    experiments: ExperimentService
    runs: RunService
    logged: LoggedModelService
    models: RegisteredModelService
    versions: ModelVersionService
    aliases: AliasService
    stages: StageService
    resolver: ModelResolver

    def new_run(self) -> str:
        experiment = self.experiments.get_or_create("registry-tests")
        return self.runs.create(experiment.experiment_id, user="tester").info.run_id


@pytest.fixture
def reg(db: Database, tmp_path: Path) -> Registry:
    store = ArtifactStore(str(tmp_path / "artifacts"))
    return Registry(
        db=db,
        store=store,
        experiments=ExperimentService(db, store),
        runs=RunService(db, store),
        logged=LoggedModelService(db, store),
        models=RegisteredModelService(db),
        versions=ModelVersionService(db),
        aliases=AliasService(db),
        stages=StageService(db),
        resolver=ModelResolver(db, store, tmp_path / "cache"),
    )


@pytest.fixture(scope="session")
def iris() -> pd.DataFrame:
    frame = load_iris(as_frame=True).frame
    return frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))


@pytest.fixture(scope="session")
def features(iris: pd.DataFrame) -> pd.DataFrame:
    return iris.drop(columns=["target"])


@pytest.fixture(scope="session")
def classifier(iris: pd.DataFrame, features: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(features, iris["target"])


@pytest.fixture(scope="session")
def regressor(features: pd.DataFrame) -> LinearRegression:
    return LinearRegression().fit(features.drop(columns=["petal_width"]), features["petal_width"])


@pytest.fixture
def log_classifier(reg: Registry, classifier: LogisticRegression, features: pd.DataFrame) -> Callable[..., LoggedModel]:
    def log(run_id: str | None = None, name: str = "model") -> LoggedModel:
        return reg.logged.log(run_id or reg.new_run(), classifier, name, input_example=features.head(5))

    return log


@pytest.fixture
def register(reg: Registry, log_classifier: Callable[..., LoggedModel]) -> Callable[[str], ModelVersion]:
    """Log a fresh classifier in a new run and register it as the next version of ``name``."""

    def make(name: str) -> ModelVersion:
        return reg.versions.create(name, log_classifier().uri, create_model=True)

    return make
