"""Governance fixtures: one store, services for any user on it, a trained and registered model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.config import Settings
from modelyard.data import DatasetService
from modelyard.domain.governance import ApprovalKind
from modelyard.domain.registry import ModelVersion
from modelyard.domain.tracking import Metric
from modelyard.governance import (
    ApprovalService,
    AuditService,
    ComplianceService,
    IdentityService,
    ModelCardService,
    grant_only,
)
from modelyard.registry import AliasService, ModelVersionService, RegisteredModelService, StageService
from modelyard.sdk.backends.local import LocalBackend
from modelyard.serving.deployments import DeploymentService
from modelyard.tracking import ExperimentService, MetricService, RunService

ADMIN = "alice"  # the first user of each test's store, hence admin


@dataclass
class As:
    """Every governed service, acting as one user."""

    models: RegisteredModelService
    versions: ModelVersionService
    stages: StageService
    aliases: AliasService
    approvals: ApprovalService
    identity: IdentityService
    audit: AuditService
    cards: ModelCardService
    compliance: ComplianceService
    runs: RunService
    metrics: MetricService
    experiments: ExperimentService
    datasets: DatasetService
    deployments: DeploymentService


@dataclass
class World:
    backend: LocalBackend

    def as_user(self, name: str, clock: Clock = SYSTEM_CLOCK) -> As:
        db = self.backend.db
        stages = StageService(db, clock, actor=name)
        aliases = AliasService(db, clock, actor=name)
        return As(
            models=RegisteredModelService(db, clock, actor=name),
            versions=ModelVersionService(db, clock, actor=name),
            stages=stages,
            aliases=aliases,
            approvals=ApprovalService(
                db,
                actor=name,
                clock=clock,
                appliers={
                    ApprovalKind.STAGE_TRANSITION: stages.apply_stage_request,
                    ApprovalKind.PROTECTED_ALIAS: aliases.apply_alias_request,
                    ApprovalKind.DEPLOYMENT_PROMOTE: grant_only,
                },
            ),
            identity=IdentityService(db, actor=name, clock=clock),
            audit=AuditService(db, actor=name, clock=clock),
            cards=ModelCardService(db, actor=name, clock=clock),
            compliance=ComplianceService(db, actor=name, clock=clock),
            runs=RunService(db, self.backend.artifact_store, clock, actor=name),
            metrics=MetricService(db, clock, actor=name),
            experiments=ExperimentService(db, self.backend.artifact_store, clock, actor=name),
            datasets=DatasetService(db, self.backend.artifact_store, clock, actor=name),
            deployments=DeploymentService(db, actor=name, clock=clock),
        )

    def user(self, name: str, role: str) -> As:
        """Create ``name`` with a global ``role`` (as the admin) and act as them."""
        self.as_user(ADMIN).identity.create_user(name, role=role)
        return self.as_user(name)

    def train(self, model_name: str = "churn") -> ModelVersion:
        """Train a small classifier with logged train/test datasets, params and metrics; register it."""
        b = self.backend
        frame = pd.DataFrame({"x1": [0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.7, 0.6], "x2": [1, 0, 1, 0, 1, 0, 1, 0]}).assign(
            y=[0, 0, 0, 1, 1, 0, 1, 1]
        )
        train, test = frame.iloc[:6], frame.iloc[6:]
        experiment = b.experiments.get_or_create("governance")
        run = b.runs.create(experiment.experiment_id, user=ADMIN).info.run_id
        b.datasets.log(train, "churn-train", role="train", run_id=run, user=ADMIN)
        b.datasets.log(test, "churn-test", role="test", run_id=run, user=ADMIN)
        model = LogisticRegression().fit(train[["x1", "x2"]], train["y"])
        logged = b.logged_models.log(run, model, "model", input_example=train[["x1", "x2"]].head(2))
        b.runs.log_params(run, {"C": "1.0", "solver": "lbfgs"})
        accuracy = float(model.score(test[["x1", "x2"]], test["y"]))
        b.runs.end(run, metrics=[Metric(key="accuracy", value=accuracy, timestamp=SYSTEM_CLOCK.now_ms())])
        return b.model_versions.create(model_name, logged.uri, create_model=True, description="churn classifier")


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    backend = LocalBackend.open(settings.model_copy(update={"user": ADMIN, "capture_environment": False}))
    yield World(backend=backend)
    backend.db.dispose()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        store_uri=f"sqlite:///{tmp_path / 'store.db'}",
        artifact_uri=str(tmp_path / "artifacts"),
        user=ADMIN,
        capture_environment=False,
    )


@pytest.fixture
def sqlite_world(sqlite_settings: Settings) -> Iterator[World]:
    backend = LocalBackend.open(sqlite_settings)
    yield World(backend=backend)
    backend.db.dispose()
