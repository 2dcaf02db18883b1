"""The fluent API as a user writes it: ``import modelyard as my; with my.start_run(): ...``."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.domain.tracking import RunStatus
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.sdk.client import Client
from modelyard.sdk.fluent import ERROR_TAG, TRACEBACK_FILE


def test_a_run_logs_and_finishes(my: Any) -> None:
    with my.start_run(experiment="churn", run_name="rf", tags={"team": "risk"}) as run:
        my.log_param("model", "rf")
        my.log_params({"depth": 5, "lr": 0.1})
        for step in range(25):
            my.log_metric("loss", 1.0 / (step + 1), step=step)
        my.log_metrics({"auc": 0.91, "f1": float("nan")}, step=3)
        my.set_tag("stage", "dev")
        my.set_tags({"a": 1})
        my.delete_tag("a")
        assert my.active_run().info.run_id == run.info.run_id
    assert my.active_run() is None
    stored = my.get_run(run.info.run_id)
    assert stored.info.status is RunStatus.FINISHED
    assert stored.info.end_time is not None and stored.info.end_time >= stored.info.start_time
    assert stored.info.user == "tester"
    assert stored.data.params == {"model": "rf", "depth": "5", "lr": "0.1"}
    assert stored.data.tags == {"team": "risk", "stage": "dev"}
    assert stored.data.metrics["auc"] == 0.91 and math.isnan(stored.data.metrics["f1"])
    assert stored.data.metrics["loss"] == 1.0 / 25
    assert len(my.client().get_metric_history(run.info.run_id, "loss")) == 25
    assert my.get_experiment_by_name("churn").experiment_id == stored.info.experiment_id
    assert my.last_active_run().info.run_id == run.info.run_id


def test_buffered_metrics_are_stored_when_the_run_ends(my: Any) -> None:
    """The flush interval is an hour in these tests: only end_run can have written them."""
    run = my.start_run()
    for step in range(300):
        my.log_metric("x", float(step), step=step)
    my.end_run()
    assert len(my.client().backend.metrics.history(run.info.run_id, "x")) == 300


def test_an_exception_ends_the_run_failed_with_the_error_recorded(my: Any) -> None:
    with pytest.raises(ZeroDivisionError), my.start_run() as run:
        my.log_metric("before", 1.0)
        _ = 1 / 0
    stored = my.get_run(run.info.run_id)
    assert stored.info.status is RunStatus.FAILED
    assert stored.data.tags[ERROR_TAG] == "ZeroDivisionError: division by zero"
    assert stored.data.metrics == {"before": 1.0}  # what was buffered before the error is kept
    traceback_text = my.client().backend.artifacts.read_bytes(run.info.run_id, TRACEBACK_FILE).decode()
    assert "ZeroDivisionError" in traceback_text and "test_fluent.py" in traceback_text


def test_ctrl_c_ends_the_run_killed(my: Any) -> None:
    with pytest.raises(KeyboardInterrupt), my.start_run() as run:
        raise KeyboardInterrupt
    assert my.get_run(run.info.run_id).info.status is RunStatus.KILLED


def test_nesting_must_be_asked_for(my: Any) -> None:
    with my.start_run() as parent:
        with pytest.raises(InvalidInput, match="already active"):
            my.start_run()
        with my.start_run(nested=True) as child:
            my.log_param("inner", 1)
        assert my.active_run().info.run_id == parent.info.run_id
    assert my.get_run(child.info.run_id).info.parent_run_id == parent.info.run_id
    assert my.get_run(child.info.run_id).info.status is RunStatus.FINISHED


def test_logging_without_a_run_starts_one_in_default(my: Any) -> None:
    my.log_param("auto", "yes")
    run = my.active_run()
    assert run is not None
    my.end_run()
    stored = my.get_run(run.info.run_id)
    assert my.client().get_experiment(stored.info.experiment_id).name == "Default"
    assert stored.data.params == {"auto": "yes"}


def test_set_experiment_picks_where_runs_go(my: Any) -> None:
    experiment = my.set_experiment("fraud")
    with my.start_run() as run:
        pass
    assert run.info.experiment_id == experiment.experiment_id
    assert my.set_experiment(experiment_id=experiment.experiment_id) == experiment
    with pytest.raises(InvalidInput):
        my.set_experiment()


def test_resuming_a_run_by_id(my: Any) -> None:
    with my.start_run() as run:
        my.log_param("a", 1)
    with my.start_run(run_id=run.info.run_id):
        my.log_param("b", 2)
    stored = my.get_run(run.info.run_id)
    assert stored.data.params == {"a": "1", "b": "2"}
    assert stored.info.status is RunStatus.FINISHED


def test_params_stay_immutable_through_the_fluent_api(my: Any) -> None:
    with my.start_run():
        my.log_param("lr", 0.1)
        with pytest.raises(Conflict, match="params are immutable"):
            my.log_param("lr", 0.2)


def test_artifacts(my: Any, tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    local = tmp_path / "data.csv"
    local.write_text("a,b\n1,2\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "x.txt").write_text("x")
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with my.start_run() as run:
        my.log_artifact(local)
        my.log_artifacts(folder, "extra")
        my.log_text("hello", "notes/hello.txt")
        my.log_dict({"a": 1, "b": [1, 2]}, "config.json")
        my.log_dict({"a": 1}, "config.yaml")
        my.log_figure(fig, "plots/curve.png")
        listed = [f.path for f in my.list_artifacts()]
    plt.close(fig)
    assert listed == ["config.json", "config.yaml", "data.csv", "extra", "notes", "plots"]
    out = Path(my.download_artifacts(run.info.run_id, "", tmp_path / "dl"))
    assert (out / "notes" / "hello.txt").read_text() == "hello"
    assert json.loads((out / "config.json").read_text()) == {"a": 1, "b": [1, 2]}
    assert (out / "config.yaml").read_text() == "a: 1\n"
    assert (out / "plots" / "curve.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "extra" / "x.txt").read_text() == "x"
    with my.start_run(), pytest.raises(InvalidInput, match="artifact path"):
        my.log_text("x", "../escape.txt")


def test_artifact_helpers_need_a_run(my: Any) -> None:
    with pytest.raises(NotFound, match="no active run"):
        my.list_artifacts()


def test_search_runs_as_a_frame_and_as_objects(my: Any) -> None:
    my.set_experiment("search")
    for auc, model in ((0.95, "rf"), (0.8, "rf"), (0.97, "gbm")):
        with my.start_run():
            my.log_param("model", model)
            my.log_metric("auc", auc)
    frame = my.search_runs(filter_string="metrics.auc > 0.9", order_by=["metrics.auc DESC"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["metrics.auc"]) == [0.97, 0.95]
    assert list(frame["params.model"]) == ["gbm", "rf"]
    assert str(frame["start_time"].dtype).startswith("datetime64")
    runs = my.search_runs(experiment_names=["search"], filter_string="params.model = 'rf'", output_format="list")
    assert sorted(r.data.metrics["auc"] for r in runs) == [0.8, 0.95]
    assert len(my.search_runs(search_all_experiments=True, output_format="list", max_results=2)) == 2
    assert my.search_runs(filter_string="metrics.auc > 2").empty
    with pytest.raises(InvalidInput, match="output_format"):
        my.search_runs(output_format="csv")
    with pytest.raises(NotFound, match="no experiment named"):
        my.search_runs(experiment_names=["missing"])
    with pytest.raises(InvalidInput, match="invalid filter at column 13"):
        my.search_runs(filter_string="metrics.auc >> 1")


def test_configure_refuses_while_a_run_is_active(my: Any) -> None:
    with my.start_run(), pytest.raises(InvalidInput, match="end the active run"):
        my.configure(user="other")


def test_set_tracking_uri_takes_database_and_server_urls_only(my: Any) -> None:
    with pytest.raises(InvalidInput, match="neither a database URL nor a server URL"):
        my.set_tracking_uri("127.0.0.1:5000")
    assert my.get_tracking_uri() == my.client().settings.store_uri


_EXIT_SCRIPT = """
import sys
import modelyard as my

store_uri, artifact_uri, home, mode = sys.argv[1:]
my.configure(store_uri=store_uri, artifact_uri=artifact_uri, home=home, capture_environment=False,
             metric_flush_interval_s=3600.0)
run = my.start_run(run_name=mode)
print(run.info.run_id, flush=True)
for step in range(3000):
    my.log_metric("x", float(step), step=step)
if mode == "raise":
    raise RuntimeError("boom at top level")
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "status", "exit_code"), [("exit", RunStatus.FINISHED, 0), ("raise", RunStatus.FAILED, 1)]
)
def test_a_run_left_active_ends_with_the_interpreter_and_keeps_every_metric(
    tmp_path: Path, mode: str, status: RunStatus, exit_code: int
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        store_uri=f"sqlite:///{tmp_path / 'store.db'}",
        artifact_uri=str(tmp_path / "artifacts"),
        capture_environment=False,
    )
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_SCRIPT, settings.store_uri, settings.artifact_uri, str(settings.home), mode],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == exit_code, done.stderr
    run_id = done.stdout.split()[0]
    client = Client(settings)
    try:
        run = client.get_run(run_id)
        history = client.get_metric_history(run_id, "x")
    finally:
        client.backend.db.dispose()
    assert run.info.status is status
    assert len(history) == 3000
    if mode == "raise":
        assert run.data.tags[ERROR_TAG] == "RuntimeError: boom at top level"
        assert "RuntimeError" in done.stderr  # the user still sees their traceback
