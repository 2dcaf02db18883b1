"""Purging deleted runs: a run deleted long enough ago goes with every row and file of it; active,
recently deleted and restored runs stay; a run a model version came from stays and the report says
why, as does its parent; a dry run changes nothing; each purge is audited and the chain still
verifies; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sqlalchemy import text

from modelyard.data import DatasetService
from modelyard.domain.tracking import KeptRun, Metric
from modelyard.errors import NotFound, PermissionDenied
from modelyard.governance import AuditService
from modelyard.registry import LoggedModelService, ModelVersionService
from modelyard.tracking import RunPurgeService
from tracking.conftest import Tracking

DAY_MS = 86_400_000
FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0]})

# Statements counting what a run left behind, table by table.
_LEFT = {
    "runs": "SELECT count(*) FROM runs WHERE run_id = :id",
    "params": "SELECT count(*) FROM params WHERE run_id = :id",
    "tags": "SELECT count(*) FROM tags WHERE run_id = :id",
    "metrics": "SELECT count(*) FROM metrics WHERE run_id = :id",
    "latest_metrics": "SELECT count(*) FROM latest_metrics WHERE run_id = :id",
    "run_inputs": "SELECT count(*) FROM run_inputs WHERE run_id = :id",
    "logged_models": "SELECT count(*) FROM logged_models WHERE run_id = :id",
    "lineage_edges": "SELECT count(*) FROM lineage_edges WHERE source_id = :id OR target_id = :id",
}


def _left(tracking: Tracking, run_id: str) -> dict[str, int]:
    with tracking.db.read() as conn:
        return {table: int(conn.execute(text(sql), {"id": run_id}).scalar_one()) for table, sql in _LEFT.items()}


def _full_run(tracking: Tracking, tmp_path: Path, experiment_id: str | None = None, **kwargs: object) -> str:
    """A finished run with params, tags, a metric history, a file, a dataset input and a model."""
    run_id = tracking.new_run(experiment_id, **kwargs)
    tracking.runs.log_batch(
        run_id,
        params={f"p{i}": i for i in range(10)},
        tags={"team": "growth"},
        metrics=[Metric(key=f"m{i}", value=float(s), timestamp=1, step=s) for i in range(10) for s in range(5)],
    )
    tracking.artifacts.log_bytes(run_id, b"x" * 1000, "notes/readme.txt")
    DatasetService(tracking.db, tracking.store).log(FRAME, "purge-data", run_id=run_id)
    LoggedModelService(tracking.db, tracking.store).log(run_id, LinearRegression().fit(FRAME[["x"]], FRAME["y"]))
    tracking.runs.end(run_id)
    return run_id


def _folder(tracking: Tracking, run_id: str) -> Path:
    return Path(tracking.runs.get(run_id).info.artifact_uri).parent


def test_a_run_deleted_long_ago_goes_with_its_rows_and_files_and_the_others_stay(
    tracking: Tracking, tmp_path: Path
) -> None:
    old = _full_run(tracking, tmp_path)
    restored = _full_run(tracking, tmp_path)
    active = _full_run(tracking, tmp_path)
    old_folder = _folder(tracking, old)
    tracking.runs.delete(old)
    tracking.runs.delete(restored)
    tracking.runs.restore(restored)
    tracking.clock.advance(40 * DAY_MS)
    recent = _full_run(tracking, tmp_path)
    tracking.runs.delete(recent)
    before = {run_id: _left(tracking, run_id) for run_id in (restored, active, recent)}
    purge = RunPurgeService(tracking.db, tracking.store, tracking.clock)

    report = purge.purge_deleted(older_than_ms=30 * DAY_MS)

    assert report.purged == [old] and report.kept == [] and not report.dry_run
    assert set(_left(tracking, old).values()) == {0}
    assert not old_folder.exists() and report.artifact_bytes > 1000 and report.artifact_errors == []
    assert report.rows_removed["params"] == 10 and report.rows_removed["metrics"] == 50
    assert report.rows_removed["latest_metrics"] == 10 and report.rows_removed["runs"] == 1
    assert report.rows_removed["run_inputs"] == 1 and report.rows_removed["logged_models"] == 1
    for run_id in (restored, active, recent):
        assert _left(tracking, run_id) == before[run_id] and _folder(tracking, run_id).exists()
    with pytest.raises(NotFound):
        tracking.runs.get(old)
    audit = AuditService(tracking.db)
    (event,) = audit.search(action="run.purged")
    assert event.object_id == old and event.details["run_name"]
    assert audit.verify().ok

    assert purge.purge_deleted().purged == [recent]  # no age given: every deleted run


def test_a_run_a_model_version_came_from_stays_and_so_does_its_parent(tracking: Tracking, tmp_path: Path) -> None:
    parent = tracking.new_run()
    child = _full_run(tracking, tmp_path, parent_run_id=parent)
    version = ModelVersionService(tracking.db).create("purge-model", f"runs:/{child}/model", create_model=True)
    plain = _full_run(tracking, tmp_path, parent_run_id=parent)
    for run_id in (parent, child, plain):
        tracking.runs.delete(run_id)
    purge = RunPurgeService(tracking.db, tracking.store, tracking.clock, batch_size=1)

    report = purge.purge_deleted()

    assert report.purged == [plain]
    assert sorted(report.kept, key=lambda k: k.run_id != child) == [
        KeptRun(run_id=child, reason=f"model version purge-model/{version.version} was registered from it"),
        KeptRun(run_id=parent, reason=f"its child run {child} stays"),
    ]
    assert _left(tracking, child)["logged_models"] == 1 and _folder(tracking, child).exists()


def test_a_parent_and_its_children_go_together_whatever_the_batches(tracking: Tracking, tmp_path: Path) -> None:
    parent = tracking.new_run()
    children = [tracking.new_run(parent_run_id=parent) for _ in range(3)]
    grandchild = tracking.new_run(parent_run_id=children[0])
    for run_id in (parent, *children, grandchild):
        tracking.runs.delete(run_id)
    purge = RunPurgeService(tracking.db, tracking.store, tracking.clock, batch_size=2)

    dry = purge.purge_deleted(dry_run=True)
    done = purge.purge_deleted()

    # all go: had a parent's batch come before its children's, the parent would have stayed
    assert sorted(dry.purged) == sorted(done.purged) == sorted([parent, *children, grandchild])
    assert dry.rows_removed == done.rows_removed and done.rows_removed["lineage_edges"] == 4
    tracking.new_run()  # an ordinary append links to the head the batched ones left
    audit = AuditService(tracking.db)
    assert sorted(e.object_id for e in audit.search(action="run.purged")) == sorted(done.purged)
    assert audit.verify().ok


def test_a_dry_run_reports_the_same_and_changes_nothing(tracking: Tracking, tmp_path: Path) -> None:
    run_id = _full_run(tracking, tmp_path)
    tracking.runs.delete(run_id)
    before = _left(tracking, run_id)
    purge = RunPurgeService(tracking.db, tracking.store, tracking.clock)

    dry = purge.purge_deleted(dry_run=True)

    assert dry.dry_run and dry.purged == [run_id] and dry.artifact_bytes > 1000
    assert _left(tracking, run_id) == before and _folder(tracking, run_id).exists()
    assert AuditService(tracking.db).search(action="run.purged") == []
    done = purge.purge_deleted()
    assert done.rows_removed == dry.rows_removed and done.artifact_bytes == dry.artifact_bytes


def test_named_runs_and_experiments_limit_the_purge(tracking: Tracking, tmp_path: Path) -> None:
    first, second, active = (tracking.new_run() for _ in range(3))
    other = tracking.new_run(tracking.experiments.create("elsewhere"))
    for run_id in (first, second, other):
        tracking.runs.delete(run_id)
    tracking.clock.advance(DAY_MS)
    purge = RunPurgeService(tracking.db, tracking.store, tracking.clock)

    named = purge.purge_deleted(run_ids=[first, active], older_than_ms=DAY_MS)
    assert named.purged == [first]
    assert named.kept == [KeptRun(run_id=active, reason="it is not deleted (delete it first)")]
    recent = purge.purge_deleted(run_ids=[second], older_than_ms=2 * DAY_MS)
    assert recent.purged == [] and recent.kept == [KeptRun(run_id=second, reason="deleted less than 2d ago")]
    by_experiment = purge.purge_deleted(experiment_ids=[tracking.experiments.get_by_name("elsewhere").experiment_id])
    assert by_experiment.purged == [other]
    with pytest.raises(NotFound):
        purge.purge_deleted(run_ids=["0" * 32])


def test_purging_needs_what_deleting_needs(tracking: Tracking, tmp_path: Path) -> None:
    run_id = tracking.new_run()
    tracking.runs.delete(run_id)
    outsider = RunPurgeService(tracking.db, tracking.store, tracking.clock, actor="mallory")

    swept = outsider.purge_deleted()
    experiment_id = tracking.runs.get(run_id).info.experiment_id
    assert swept.purged == [] and swept.kept == [
        KeptRun(run_id=run_id, reason=f"needs the track permission on experiment {experiment_id}")
    ]
    with pytest.raises(PermissionDenied):
        outsider.purge_deleted(run_ids=[run_id])
    assert tracking.runs.get(run_id).info.run_id == run_id
