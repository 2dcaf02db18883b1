"""Experiments, runs, params, metrics, tags and search through the real mlflow client."""

from __future__ import annotations

import json
import math
import time

import httpx
import mlflow
import mlflow.data
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from .conftest import RunningServer


def test_experiments_create_get_search_update_delete(mlflow_server: RunningServer) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment("churn", tags={"team": "risk"})
    assert client.get_experiment(experiment_id).name == "churn"
    by_name = client.get_experiment_by_name("churn")
    assert by_name is not None and by_name.tags == {"team": "risk"}
    assert by_name.artifact_location == f"mlflow-artifacts:/{experiment_id}"
    assert client.get_experiment_by_name("nope") is None
    with pytest.raises(MlflowException, match="RESOURCE_ALREADY_EXISTS"):
        client.create_experiment("churn")

    client.create_experiment("fraud")
    names = {e.name for e in client.search_experiments(filter_string="name LIKE 'ch%'")}
    assert names == {"churn"}
    client.rename_experiment(experiment_id, "churn-v2")
    assert client.get_experiment(experiment_id).name == "churn-v2"
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert "churn-v2" not in {e.name for e in client.search_experiments()}
    # the same experiment, seen by modelyard's own service
    assert mlflow_server.backend.experiments.get(experiment_id).name == "churn-v2"


def test_fluent_run_logs_params_metrics_tags_and_history(mlflow_server: RunningServer) -> None:
    mlflow.set_experiment("fluent")
    with mlflow.start_run(run_name="rf-300") as run:
        mlflow.log_param("n_estimators", 300)
        mlflow.log_params({"model": "rf", "depth": 7})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"auc": 0.91, "nan": math.nan})
        mlflow.set_tag("team", "risk")
        mlflow.set_tags({"stage": "dev"})
    run_id = run.info.run_id

    got = MlflowClient().get_run(run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "rf-300"
    assert got.data.params == {"n_estimators": "300", "model": "rf", "depth": "7"}
    assert got.data.metrics["loss"] == pytest.approx(0.2) and got.data.metrics["auc"] == 0.91
    assert math.isnan(got.data.metrics["nan"])
    assert got.data.tags["team"] == "risk" and got.data.tags["mlflow.runName"] == "rf-300"
    history = MlflowClient().get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]

    # ordinary modelyard data: the run service sees the same run
    stored = mlflow_server.backend.runs.get(run_id)
    assert stored.info.status.value == "FINISHED" and stored.data.params["model"] == "rf"
    assert stored.data.tags["team"] == "risk"
    assert [m.value for m in mlflow_server.backend.metrics.history(run_id, "loss")][-1] == 0.2


def test_params_are_immutable_and_errors_are_mlflow_shaped(mlflow_server: RunningServer) -> None:
    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.1)
        with pytest.raises(MlflowException) as caught:
            mlflow.log_param("lr", 0.2)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as missing:
        MlflowClient().get_run("0" * 32)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert MlflowClient().get_run(run.info.run_id).data.params == {"lr": "0.1"}


def test_log_batch_update_delete_restore(mlflow_server: RunningServer) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment("batch")
    run = client.create_run(experiment_id, run_name="batched", tags={"k": "v"})
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("acc", 0.5 + i / 100, 1_700_000_000_000 + i, i) for i in range(30)],
        params=[Param("p", "1")],
        tags=[RunTag("t", "x")],
    )
    client.set_terminated(run_id, status="FAILED")
    got = client.get_run(run_id)
    assert got.info.status == "FAILED" and got.info.end_time is not None
    assert got.data.metrics["acc"] == pytest.approx(0.79) and got.data.params == {"p": "1"}
    assert len(client.get_metric_history(run_id, "acc")) == 30
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    client.delete_tag(run_id, "t")
    assert "t" not in client.get_run(run_id).data.tags


def test_default_experiment_and_nested_runs(mlflow_server: RunningServer) -> None:
    with mlflow.start_run() as parent, mlflow.start_run(nested=True) as child:
        mlflow.log_metric("m", 1.0)
    info = mlflow_server.backend.runs.get(child.info.run_id).info
    assert info.parent_run_id == parent.info.run_id
    assert mlflow_server.backend.experiments.get(info.experiment_id).name == "Default"
    assert MlflowClient().get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_search_runs_filters_orders_and_dataframe(mlflow_server: RunningServer) -> None:
    experiment = mlflow.set_experiment("search")
    for i in range(6):
        with mlflow.start_run(run_name=f"r{i}"):
            mlflow.log_param("model", "rf" if i % 2 else "lr")
            mlflow.log_metric("auc", 0.8 + i / 100)
            mlflow.set_tag("team", "risk")
    frame = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string="metrics.auc > 0.81 and params.model = 'rf' and tags.team = 'risk'",
        order_by=["metrics.auc DESC"],
    )
    assert list(frame["tags.mlflow.runName"]) == ["r5", "r3"]
    assert list(frame["metrics.auc"]) == pytest.approx([0.85, 0.83])
    assert set(frame["status"]) == {"FINISHED"}
    everything = mlflow.search_runs(experiment_names=["search"], order_by=["attributes.start_time ASC"])
    assert len(everything) == 6
    runs = MlflowClient().search_runs([experiment.experiment_id], "attributes.run_name = 'r2'")
    assert [r.info.run_name for r in runs] == ["r2"]
    page = MlflowClient().search_runs([experiment.experiment_id], max_results=4)
    assert len(page) == 4 and page.token
    rest = MlflowClient().search_runs([experiment.experiment_id], max_results=4, page_token=page.token)
    assert len(rest) == 2


def test_calls_outside_the_api_answer_endpoint_not_found(mlflow_server: RunningServer) -> None:
    answer = httpx.post(f"{mlflow_server.url}/api/2.0/mlflow/traces", json={})
    assert answer.status_code == 404 and answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert httpx.get(f"{mlflow_server.url}/api/3.0/mlflow/server-info").status_code == 404


def test_writes_through_the_api_keep_the_run_alive(mlflow_server: RunningServer) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment("alive"))
    created = mlflow_server.backend.runs.get(run.info.run_id).info.heartbeat_time
    time.sleep(0.01)  # so the write's heartbeat is a later millisecond than the creation's
    client.log_metric(run.info.run_id, "m", 1.0)
    beat = mlflow_server.backend.runs.get(run.info.run_id).info.heartbeat_time
    assert created is not None and beat is not None and beat > created


def test_out_of_range_numbers_are_bad_requests(mlflow_server: RunningServer) -> None:
    base = f"{mlflow_server.url}/api/2.0/mlflow"
    huge = httpx.post(f"{base}/runs/create", json={"experiment_id": "0", "start_time": 2**70})
    assert huge.status_code == 400 and huge.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    page = httpx.post(f"{base}/experiments/search", json={"max_results": 0})
    assert page.status_code == 400 and "max_results" in page.json()["message"]


def test_dataset_inputs_are_recorded_on_the_run(mlflow_server: RunningServer) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1]})
    with mlflow.start_run() as run:
        mlflow.log_input(mlflow.data.from_pandas(frame, name="train"), context="training")
    tags = mlflow_server.backend.runs.get(run.info.run_id).data.tags
    (key,) = [k for k in tags if k.startswith("mlflow.dataset.train:")]
    assert json.loads(tags[key])["mlflow.data.context"] == "training"
