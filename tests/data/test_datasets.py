"""Dataset versions on SQLite and PostgreSQL: idempotent, concurrent, linked to runs, loaded back."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.domain.data import DatasetRole
from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.errors import Conflict, InvalidInput, ModelyardError, NotFound
from modelyard.sdk.backends.local import LocalBackend
from modelyard.store.repos import lineage as lineage_rows

Frames = Callable[..., pd.DataFrame]


def _run_id(backend: LocalBackend) -> str:
    experiment_id = backend.experiments.get_or_create("data-tests").experiment_id
    return backend.runs.create(experiment_id, user="tester").info.run_id


def test_a_version_is_stored_with_schema_profile_and_parquet(
    backend: LocalBackend, make_frame: Frames, settings: Settings
) -> None:
    frame = make_frame()
    version = backend.datasets.log(frame, "churn", user="ann")
    assert version.uri == f"datasets:/churn@{version.digest}"
    assert [(c.name, c.type) for c in version.columns] == [
        ("age", "double"),
        ("plan", "large_string"),
        ("churned", "bool"),
    ]
    assert version.row_count == len(frame) == version.profile.row_count
    assert version.created_by == "ann" and version.source_uri is None
    stored = Path(settings.artifact_uri) / "datasets" / "churn" / version.digest / "data.parquet"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == version.digest
    assert version.size_bytes == stored.stat().st_size
    pd.testing.assert_frame_equal(backend.datasets.load(version.uri), frame)


def test_the_same_content_logged_twice_is_one_version(backend: LocalBackend, make_frame: Frames) -> None:
    first = backend.datasets.log(make_frame(), "churn", user="ann")
    again = backend.datasets.log(make_frame().copy(), "churn", user="bob")
    assert again == first  # the first logging's record, creator included
    other = backend.datasets.log(make_frame(shift=1.0), "churn")
    assert other.digest != first.digest
    assert [v.digest for v in backend.datasets.list_versions("churn")] == [other.digest, first.digest]
    [dataset] = backend.datasets.list_datasets()
    assert (dataset.name, dataset.version_count, dataset.latest_digest) == ("churn", 2, other.digest)


def test_a_path_is_read_and_kept_as_source(backend: LocalBackend, make_frame: Frames, tmp_path: Path) -> None:
    frame = make_frame()
    frame.to_csv(tmp_path / "churn.csv", index=False)
    version = backend.datasets.log(tmp_path / "churn.csv", "churn")
    assert version.source_uri == str(tmp_path / "churn.csv")
    assert version.digest == backend.datasets.log(frame, "churn").digest  # same content, same version


def test_a_run_input_and_its_lineage_edge_are_recorded(backend: LocalBackend, make_frame: Frames) -> None:
    run_id = _run_id(backend)
    train = backend.datasets.log(make_frame(), "churn", run_id=run_id, role="train")
    backend.datasets.log(make_frame(), "churn", run_id=run_id, role="train")  # no second row
    backend.datasets.add_input(train.uri[:24], run_id, DatasetRole.REFERENCE)
    test = backend.datasets.log(make_frame(seed=1), "churn-test", run_id=run_id, role="test")
    inputs = backend.datasets.inputs_of_run(run_id)
    assert sorted((i.dataset_name, i.digest, i.role.value) for i in inputs) == sorted(
        [("churn", train.digest, "train"), ("churn", train.digest, "reference"), ("churn-test", test.digest, "test")]
    )
    assert {i.run_id for i in backend.datasets.runs_of(train)} == {run_id}
    with backend.db.read() as conn:
        edges = lineage_rows.upstream(conn, [NodeRef(kind=NodeKind.RUN, id=run_id)])
    inputs_edges = [e for e in edges if e.relation is Relation.INPUT]
    assert {(e.source.id, e.properties["role"]) for e in inputs_edges} == {
        (f"churn@{train.digest}", "train"),
        (f"churn-test@{test.digest}", "test"),
    }  # one edge per version and run: the first role recorded is the edge's


def test_inputs_are_refused_for_missing_or_deleted_runs_and_nothing_half_written(
    backend: LocalBackend, make_frame: Frames
) -> None:
    with pytest.raises(NotFound, match="no run"):
        backend.datasets.log(make_frame(), "churn", run_id="0" * 32)
    assert backend.datasets.list_datasets() == []  # the transaction rolled back the version too
    run_id = _run_id(backend)
    backend.runs.delete(run_id)
    with pytest.raises(Conflict, match="deleted"):
        backend.datasets.log(make_frame(), "churn", run_id=run_id)


def test_lookups_by_prefix_and_their_errors(backend: LocalBackend, make_frame: Frames) -> None:
    version = backend.datasets.log(make_frame(), "churn")
    assert backend.datasets.resolve(f"datasets:/churn@{version.digest[:6]}") == version
    assert backend.datasets.get("churn", version.digest.upper()[:8]) == version
    with pytest.raises(NotFound, match="no dataset named 'nope'"):
        backend.datasets.resolve("datasets:/nope@abcd")
    with pytest.raises(NotFound, match="no version"):
        backend.datasets.resolve("datasets:/churn@" + ("0" if version.digest[0] != "0" else "1") * 8)
    with pytest.raises(InvalidInput, match="not a dataset URI"):
        backend.datasets.resolve("datasets:/churn")
    with pytest.raises(InvalidInput, match=r"dataset name .* is not allowed"):
        backend.datasets.log(make_frame(), "-bad name")
    with pytest.raises(InvalidInput, match="invalid dataset role 'training'"):
        backend.datasets.log(make_frame(), "churn", role="training")
    with pytest.raises(InvalidInput, match="no column"):
        backend.datasets.load(version, columns=["age", "nope"])
    assert list(backend.datasets.load(version, columns=["plan"]).columns) == ["plan"]


def test_a_damaged_file_is_never_loaded(backend: LocalBackend, make_frame: Frames, settings: Settings) -> None:
    version = backend.datasets.log(make_frame(), "churn")
    stored = Path(settings.artifact_uri) / "datasets" / "churn" / version.digest / "data.parquet"
    stored.write_bytes(stored.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelyardError, match="does not match its digest"):
        backend.datasets.load(version.uri)


_LOGGER = """
import json, sys
import pandas as pd
from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend
backend = LocalBackend.open(Settings.model_validate_json({settings!r}))
run = backend.runs.create(backend.experiments.get_or_create("concurrent").experiment_id, user="p").info.run_id
version = backend.datasets.log(pd.read_parquet({frame!r}), "shared", run_id=run, user=sys.argv[1])
print(json.dumps({{"digest": version.digest, "by": version.created_by, "run": run}}))
"""


def test_concurrent_logging_from_processes_yields_one_version(
    backend: LocalBackend, make_frame: Frames, settings: Settings
) -> None:
    frame_file = Path(settings.home) / "frame.parquet"
    frame_file.parent.mkdir(parents=True, exist_ok=True)
    make_frame().to_parquet(frame_file, index=False)
    code = _LOGGER.format(frame=str(frame_file), settings=settings.model_dump_json())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, f"p{i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for i in range(4)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert len({r["digest"] for r in results}) == 1
    assert len({r["by"] for r in results}) == 1  # every process got the one stored record
    [version] = backend.datasets.list_versions("shared")
    assert {i.run_id for i in backend.datasets.runs_of(version)} == {r["run"] for r in results}
    folder = Path(settings.artifact_uri) / "datasets" / "shared"
    assert [p.name for p in folder.iterdir()] == [version.digest]
    assert [p.name for p in (folder / version.digest).iterdir()] == ["data.parquet"]  # no partial left


def test_diff_reports_schema_and_distribution_changes(backend: LocalBackend, make_frame: Frames) -> None:
    base = make_frame()
    a = backend.datasets.log(base, "churn")
    changed = (
        make_frame(seed=3, shift=8.0)
        .drop(columns=["churned"])
        .assign(plan=lambda f: f["plan"].where(f.index % 4 != 0, "enterprise"), region="eu")
    )
    changed["age"] = changed["age"].where(changed.index % 10 != 0)  # 10 % missing
    b = backend.datasets.log(changed, "churn")
    result = backend.datasets.diff(a.uri, b.uri)
    assert [c.name for c in result.added] == ["region"]
    assert [c.name for c in result.removed] == ["churned"]
    assert result.type_changed == ()
    age = next(c for c in result.columns if c.name == "age")
    assert age.kind == "numeric" and age.psi is not None and age.psi > 0.25
    assert age.missing_rate_change == pytest.approx(0.1)
    assert age.mean_change == pytest.approx(changed["age"].mean() - base["age"].mean())
    plan = next(c for c in result.columns if c.name == "plan")
    assert plan.kind == "categorical" and plan.new_levels == ("enterprise",)
    assert plan.tvd == pytest.approx(0.25, abs=0.03)
    same = backend.datasets.diff(a.uri, a.uri)
    assert all(c.psi in (None, 0.0) and c.tvd in (None, 0.0) for c in same.columns)
