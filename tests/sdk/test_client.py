"""``Client``: explicit runs and experiments, MlflowClient's method names."""

from __future__ import annotations

import time

import pytest

from modelyard.config import Settings
from modelyard.domain.search import ViewType
from modelyard.domain.tracking import Metric, Param, RunStatus, RunTag
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.sdk.client import Client
from modelyard.store.repos import environments


@pytest.fixture
def client(sdk_settings: Settings) -> Client:
    return Client(sdk_settings)


def test_experiments_round_trip(client: Client) -> None:
    experiment_id = client.create_experiment("e1", tags={"owner": "ann"})
    assert client.get_experiment(experiment_id).tags == {"owner": "ann"}
    client.rename_experiment(experiment_id, "e2")
    client.set_experiment_tag(experiment_id, "owner", "bob")
    assert client.get_experiment_by_name("e2").tags == {"owner": "bob"}  # type: ignore[union-attr]
    client.delete_experiment(experiment_id)
    assert [e.name for e in client.search_experiments()] == []
    assert [e.name for e in client.search_experiments(ViewType.DELETED_ONLY)] == ["e2"]
    client.restore_experiment(experiment_id)
    assert [e.name for e in client.search_experiments("ALL")] == ["e2"]


def test_a_run_without_an_experiment_goes_to_default(client: Client) -> None:
    run = client.create_run(start_time=42, run_name="r")
    assert client.get_experiment(run.info.experiment_id).name == "Default"
    assert run.info.start_time == 42


def test_runs_without_an_experiment_look_default_up_once(client: Client) -> None:
    """Default cannot be deleted, so the client remembers its id: a run start that names no
    experiment no longer looks it up by name in a transaction of its own."""
    from sqlalchemy import event

    first = client.create_run().info.experiment_id
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(client.backend.db.engine, "before_cursor_execute", capture)
    try:
        second = client.create_run().info.experiment_id
    finally:
        event.remove(client.backend.db.engine, "before_cursor_execute", capture)
    assert second == first
    assert not [s for s in statements if "experiments.name =" in s], statements
    with pytest.raises(Conflict, match="Default experiment cannot be deleted"):
        client.delete_experiment(first)


def test_source_and_environment_are_captured(sdk_settings: Settings) -> None:
    client = Client(sdk_settings.model_copy(update={"capture_environment": True}))
    run = client.create_run()
    assert run.info.source.name  # the entry point of this process
    assert run.info.environment_digest is not None
    with client.backend.db.read() as conn:
        stored = environments.get(conn, run.info.environment_digest)
    assert stored is not None and "sqlalchemy" in stored["packages"]


def test_synchronous_and_buffered_metrics(client: Client) -> None:
    run_id = client.create_run().info.run_id
    client.log_metric(run_id, "sync", 1.0, timestamp=10, step=1)
    assert client.backend.metrics.history(run_id, "sync")[0].timestamp == 10
    client.log_metric(run_id, "buffered", 2.0, synchronous=False)
    client.log_metrics(run_id, {"a": 1.0, "b": 2.0}, step=4, synchronous=False)
    assert client.backend.metrics.history(run_id, "buffered") == []  # not yet written
    assert [m.value for m in client.get_metric_history(run_id, "buffered")] == [2.0]  # reads flush first
    assert client.get_run(run_id).data.metrics == {"sync": 1.0, "buffered": 2.0, "a": 1.0, "b": 2.0}


def test_a_bad_metric_fails_at_the_call_not_in_the_background(client: Client) -> None:
    run_id = client.create_run().info.run_id
    with pytest.raises(InvalidInput, match="must be a number"):
        client.log_metric(run_id, "x", "high", synchronous=False)


def test_set_terminated_stores_buffered_metrics_first(client: Client) -> None:
    run_id = client.create_run().info.run_id
    for step in range(50):
        client.log_metric(run_id, "m", float(step), step=step, synchronous=False)
    client.set_terminated(run_id, "KILLED", end_time=12345)
    assert len(client.backend.metrics.history(run_id, "m")) == 50
    info = client.backend.runs.get(run_id).info
    assert (info.status, info.end_time) == (RunStatus.KILLED, 12345)


def test_log_batch_accepts_records_or_mappings(client: Client) -> None:
    run_id = client.create_run().info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric(key="m", value=1.0, timestamp=1, step=0)],
        params=[Param(key="p", value="1")],
        tags=[RunTag(key="t", value="v")],
    )
    client.log_batch(run_id, params={"q": 2}, tags={"u": "w"})
    data = client.get_run(run_id).data
    assert (data.metrics, data.params, data.tags) == ({"m": 1.0}, {"p": "1", "q": "2"}, {"t": "v", "u": "w"})
    with pytest.raises(Conflict):
        client.log_batch(run_id, params={"p": "changed"})


def test_log_batch_takes_metric_dicts_and_names_what_a_bad_one_lacks(client: Client) -> None:
    run_id = client.create_run().info.run_id
    client.log_batch(
        run_id, metrics=[{"key": "loss", "value": 0.5, "step": 1}, {"key": "loss", "value": 0.25, "step": 2}]
    )
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")] == [(1, 0.5), (2, 0.25)]
    with pytest.raises(InvalidInput, match=r"metrics\[0\]: a metric dict has 'key' and 'value'.*\['loss'\]"):
        client.log_batch(run_id, metrics=[{"loss": 0.1}])
    with pytest.raises(InvalidInput, match=r"metrics\[1\]: expected a Metric or a dict .*got float"):
        client.log_batch(run_id, metrics=[{"key": "a", "value": 1}, 0.1])  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="'key' must be a string"):
        client.log_batch(run_id, metrics=[{"key": 3, "value": 1}])


def test_update_delete_restore(client: Client) -> None:
    run_id = client.create_run().info.run_id
    client.update_run(run_id, status="FINISHED", name="renamed")
    info = client.get_run(run_id).info
    assert (info.run_name, info.status) == ("renamed", RunStatus.FINISHED)
    client.delete_run(run_id)
    assert len(client.search_runs(info.experiment_id)) == 0
    client.restore_run(run_id)
    assert [r.info.run_id for r in client.search_runs(info.experiment_id)] == [run_id]
    with pytest.raises(NotFound):
        client.get_run("f" * 32)


def test_search_pages(client: Client) -> None:
    experiment_id = client.create_experiment("paged")
    for i in range(5):
        run_id = client.create_run(experiment_id, start_time=1000 + i).info.run_id
        client.log_metric(run_id, "i", float(i), synchronous=False)  # search flushes first
    first = client.search_runs(experiment_id, "metrics.i >= 1", max_results=3, order_by=["metrics.i"])
    assert [r.data.metrics["i"] for r in first] == [1.0, 2.0, 3.0]
    assert first.token is not None
    second = client.search_runs(
        [experiment_id], "metrics.i >= 1", max_results=3, order_by=["metrics.i"], page_token=first.token
    )
    assert [r.data.metrics["i"] for r in second] == [4.0]
    assert second.token is None


def test_gc_runs_uses_the_timeout(client: Client) -> None:
    run_id = client.create_run().info.run_id
    assert client.gc_runs() == []  # the default timeout: just started, alive
    time.sleep(0.01)
    assert client.gc_runs(timeout_s=0.001) == [run_id]
    assert client.get_run(run_id).info.status is RunStatus.KILLED


def test_clients_on_the_same_settings_share_a_backend(sdk_settings: Settings) -> None:
    assert Client(sdk_settings).backend is Client(sdk_settings).backend
