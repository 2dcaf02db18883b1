"""The fluent dataset API on each engine: attach to the active run, load back, list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import modelyard as my
from modelyard.config import Settings
from modelyard.errors import NotFound


@pytest.fixture
def fluent(settings: Settings) -> Iterator[Settings]:
    my.configure(
        home=settings.home,
        store_uri=settings.store_uri,
        artifact_uri=settings.artifact_uri,
        user="tester",
        capture_environment=False,
    )
    yield my.client().settings
    my.end_run()


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"f": [1.0, 2.0, 3.0, None], "g": ["u", "v", "u", "w"], "y": [0, 1, 0, 1]})


def test_log_dataset_attaches_to_the_active_run(fluent: Settings) -> None:
    with my.start_run(experiment="sdk-data") as run:
        train = my.log_dataset(_frame(), "sdk-train")
        valid = my.log_dataset(_frame().iloc[:2], "sdk-train", role="validation")
        assert {(i.digest, i.role) for i in my.get_run_inputs()} == {
            (train.digest, my.DatasetRole.TRAIN),
            (valid.digest, my.DatasetRole.VALIDATION),
        }
    assert train.created_by == "tester"
    assert {i.run_id for i in my.get_run_inputs(run.info.run_id)} == {run.info.run_id}
    pd.testing.assert_frame_equal(my.load_dataset(train.uri), _frame())
    pd.testing.assert_frame_equal(my.load_dataset(valid.uri, columns=["g"]), _frame().iloc[:2][["g"]])


def test_without_a_run_a_version_is_stored_alone(fluent: Settings, tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    _frame().to_parquet(path, index=False)
    version = my.log_dataset(path, "loose")
    assert my.active_run() is None
    assert version.source_uri == str(path)
    assert my.get_dataset_version(version.uri[:20]) == version
    assert [d.name for d in my.list_datasets()] == ["loose"]
    assert [v.digest for v in my.list_dataset_versions("loose")] == [version.digest]
    with pytest.raises(NotFound):
        my.list_dataset_versions("other")
