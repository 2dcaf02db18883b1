"""Tracking services wired to a fresh store (SQLite and PostgreSQL) and a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelyard.clock import FixedClock
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database
from modelyard.tracking import ArtifactService, ExperimentService, MetricService, RunSearchService, RunService
from tracking._fast_store import _sqlite_template as _sqlite_template
from tracking._fast_store import fast_store_url as fast_store_url
from tracking._fast_store import shared_postgres_url as shared_postgres_url


@dataclass
class Tracking:
    db: Database
    clock: FixedClock
    store: ArtifactStore
    experiments: ExperimentService
    runs: RunService
    metrics: MetricService
    artifacts: ArtifactService
    search: RunSearchService

    def new_run(self, experiment_id: str | None = None, **kwargs: object) -> str:
        """A RUNNING run in ``experiment_id`` (a fresh experiment when not given); its id."""
        if experiment_id is None:
            experiment_id = self.experiments.get_or_create("exp").experiment_id
        return self.runs.create(experiment_id, user="tester", **kwargs).info.run_id  # type: ignore[arg-type]


@pytest.fixture
def tracking(fast_store_url: str, tmp_path: Path) -> Iterator[Tracking]:
    db = Database(fast_store_url)
    clock = FixedClock()
    store = ArtifactStore(str(tmp_path / "artifacts"))
    yield Tracking(
        db=db,
        clock=clock,
        store=store,
        experiments=ExperimentService(db, store, clock),
        runs=RunService(db, store, clock),
        metrics=MetricService(db),
        artifacts=ArtifactService(db, store),
        search=RunSearchService(db),
    )
    db.dispose()
