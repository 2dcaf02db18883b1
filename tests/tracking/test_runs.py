"""Runs: life cycle, params (immutable), tags, nesting, deletion and the heartbeat rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.domain.tracking import Environment, LifecycleStage, RunStatus, SourceInfo
from modelyard.errors import Conflict, InvalidInput, NotFound
from modelyard.store.repos import environments as environment_rows
from modelyard.tracking import make_metric
from tracking.conftest import Tracking


def test_a_new_run_is_running_with_its_attributes(tracking: Tracking) -> None:
    experiment_id = tracking.experiments.create("e")
    source = SourceInfo(name="train.py", git_commit="a" * 40, git_dirty=True)
    run = tracking.runs.create(
        experiment_id, user="ann", run_name="first", tags={"team": "risk"}, source=source, start_time=123
    )
    stored = tracking.runs.get(run.info.run_id)
    assert stored == run
    info = stored.info
    assert (info.status, info.user, info.run_name, info.start_time, info.end_time) == (
        RunStatus.RUNNING,
        "ann",
        "first",
        123,
        None,
    )
    assert info.source == source
    assert info.heartbeat_time == tracking.clock.now_ms()
    assert info.lifecycle_stage is LifecycleStage.ACTIVE
    assert info.artifact_uri == f"{tracking.store.root_uri}/{experiment_id}/{info.run_id}/artifacts"
    assert stored.data.tags == {"team": "risk"}
    assert len(info.run_id) == 32 and info.run_uuid == info.run_id


def test_runs_get_a_readable_default_name(tracking: Tracking) -> None:
    name = tracking.runs.get(tracking.new_run()).info.run_name
    assert len(name.split("-")) == 3


def test_unknown_experiment_or_parent_is_not_found(tracking: Tracking) -> None:
    with pytest.raises(NotFound, match="no experiment"):
        tracking.runs.create("424242", user="u")
    experiment_id = tracking.experiments.create("e")
    with pytest.raises(NotFound, match="no parent run"):
        tracking.runs.create(experiment_id, user="u", parent_run_id="f" * 32)


def test_nested_runs_know_their_parent(tracking: Tracking) -> None:
    parent = tracking.new_run()
    child = tracking.new_run(parent_run_id=parent)
    assert tracking.runs.get(child).info.parent_run_id == parent
    assert tracking.runs.children(parent) == [child]


def test_end_sets_status_and_time_and_final_stays_final(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.clock.advance(1500)
    tracking.runs.end(run_id, "failed")
    info = tracking.runs.get(run_id).info
    assert info.status is RunStatus.FAILED
    assert info.end_time == tracking.clock.now_ms()
    tracking.runs.end(run_id, RunStatus.FAILED)  # the same final status again is a no-op
    with pytest.raises(Conflict, match="already ended as FAILED"):
        tracking.runs.end(run_id, RunStatus.FINISHED)
    with pytest.raises(InvalidInput, match="unknown run status"):
        tracking.runs.end(run_id, "DONE")


def test_reopen_makes_a_run_running_again(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.runs.end(run_id)
    tracking.runs.reopen(run_id)
    info = tracking.runs.get(run_id).info
    assert info.status is RunStatus.RUNNING and info.end_time is None


def test_params_are_immutable(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.runs.log_params(run_id, {"lr": 0.1, "model": "rf", "none": None})
    tracking.runs.log_params(run_id, {"lr": "0.1"})  # the same value again is fine
    with pytest.raises(Conflict, match=r"param 'lr' of run \w+ is already '0.1'.*cannot become '0.2'") as caught:
        tracking.runs.log_params(run_id, {"lr": 0.2, "new": 1})
    assert caught.value.details == {"keys": ["lr"]}
    assert tracking.runs.get(run_id).data.params == {"lr": "0.1", "model": "rf", "none": "None"}  # 'new' not stored


def test_bad_keys_and_values_are_refused_before_storing(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    with pytest.raises(InvalidInput, match="param key"):
        tracking.runs.log_params(run_id, {"bad|key": 1})
    with pytest.raises(InvalidInput, match="limit is 6000"):
        tracking.runs.log_params(run_id, {"long": "x" * 6001})
    with pytest.raises(InvalidInput, match="limit is 8000"):
        tracking.runs.set_tags(run_id, {"long": "x" * 8001})
    with pytest.raises(InvalidInput, match="limit is 250"):
        tracking.runs.set_tags(run_id, {"k" * 251: "x"})
    assert tracking.runs.get(run_id).data.params == {}


def test_tags_are_replaced_and_deleted(tracking: Tracking) -> None:
    run_id = tracking.new_run(tags={"stage": "dev"})
    tracking.runs.set_tags(run_id, {"stage": "prod", "owner": "ann"})
    tracking.runs.delete_tag(run_id, "owner")
    assert tracking.runs.get(run_id).data.tags == {"stage": "prod"}
    with pytest.raises(NotFound, match="no tag 'owner'"):
        tracking.runs.delete_tag(run_id, "owner")


def test_log_batch_is_all_or_nothing(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.runs.log_params(run_id, {"lr": "0.1"})
    with pytest.raises(Conflict):
        tracking.runs.log_batch(run_id, metrics=[make_metric("m", 1.0)], params={"lr": "0.5"}, tags={"t": "v"})
    run = tracking.runs.get(run_id)
    assert run.data.metrics == {} and "t" not in run.data.tags
    tracking.runs.log_batch(run_id, metrics=[make_metric("m", 1.0)], params={"b": 2}, tags={"t": "v"})
    run = tracking.runs.get(run_id)
    assert (run.data.metrics, run.data.params["b"], run.data.tags["t"]) == ({"m": 1.0}, "2", "v")


def test_deleted_runs_take_no_writes_until_restored(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.runs.delete(run_id)
    assert tracking.runs.get(run_id).info.lifecycle_stage is LifecycleStage.DELETED
    with pytest.raises(Conflict, match="is deleted"):
        tracking.runs.log_params(run_id, {"a": 1})
    with pytest.raises(Conflict, match="is deleted"):
        tracking.runs.set_tags(run_id, {"a": 1})
    tracking.runs.restore(run_id)
    tracking.runs.log_params(run_id, {"a": 1})
    assert tracking.runs.get(run_id).data.params == {"a": "1"}


def test_rename(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    tracking.runs.rename(run_id, "better")
    assert tracking.runs.get(run_id).info.run_name == "better"
    with pytest.raises(InvalidInput):
        tracking.runs.rename(run_id, "")


def test_resolve_id_by_prefix(tracking: Tracking) -> None:
    run_id = tracking.new_run()
    assert tracking.runs.resolve_id(run_id[:8].upper()) == run_id
    with pytest.raises(InvalidInput, match="not a run id"):
        tracking.runs.resolve_id("xyz!")
    with pytest.raises(InvalidInput, match="not a run id"):
        tracking.runs.resolve_id("abc")
    other = "0000" if not run_id.startswith("0000") else "ffff"
    with pytest.raises(NotFound):
        tracking.runs.resolve_id(other + "0" * 28)


def test_get_many_keeps_the_order_and_skips_unknown(tracking: Tracking) -> None:
    a, b = tracking.new_run(), tracking.new_run()
    assert [r.info.run_id for r in tracking.runs.get_many([b, "f" * 32, a])] == [b, a]


class TestHeartbeats:
    """A RUNNING run whose heartbeat is older than the timeout is ended KILLED by gc."""

    def test_gc_kills_only_stale_running_runs(self, tracking: Tracking) -> None:
        stale = tracking.new_run()
        finished = tracking.new_run()
        tracking.runs.end(finished)
        tracking.clock.advance(60_000)
        alive = tracking.new_run()
        tracking.clock.advance(60_001)
        tracking.runs.heartbeat([alive])
        assert tracking.runs.gc(120) == [stale]
        infos = {r.info.run_id: r.info for r in tracking.runs.get_many([stale, finished, alive])}
        assert infos[stale].status is RunStatus.KILLED
        assert infos[stale].end_time == tracking.clock.now_ms()
        assert infos[finished].status is RunStatus.FINISHED
        assert infos[alive].status is RunStatus.RUNNING
        assert tracking.runs.gc(120) == []

    def test_a_run_exactly_at_the_timeout_is_alive(self, tracking: Tracking) -> None:
        run_id = tracking.new_run()
        tracking.clock.advance(120_000)
        assert tracking.runs.gc(120) == []
        tracking.clock.advance(1)
        assert tracking.runs.gc(120) == [run_id]

    def test_a_killed_run_may_still_be_ended_by_its_process(self, tracking: Tracking) -> None:
        run_id = tracking.new_run()
        tracking.clock.advance(200_000)
        tracking.runs.gc(120)
        tracking.runs.end(run_id, RunStatus.FINISHED)  # the laptop woke up
        assert tracking.runs.get(run_id).info.status is RunStatus.FINISHED

    def test_heartbeats_do_not_revive_ended_runs(self, tracking: Tracking) -> None:
        run_id = tracking.new_run()
        tracking.runs.end(run_id)
        before = tracking.runs.get(run_id).info.heartbeat_time
        tracking.clock.advance(10)
        tracking.runs.heartbeat([run_id])
        assert tracking.runs.get(run_id).info.heartbeat_time == before

    def test_gc_removes_partial_files_of_killed_runs(self, tracking: Tracking) -> None:
        run_id = tracking.new_run()
        tracking.artifacts.log_bytes(run_id, b"ok", "done.txt")
        info = tracking.runs.get(run_id).info
        leftover = Path(info.artifact_uri) / ".model.bin.123.partial"
        leftover.write_bytes(b"half")
        tracking.clock.advance(200_000)
        assert tracking.runs.gc(120) == [run_id]
        assert not leftover.exists()
        assert [f.path for f in tracking.artifacts.list(run_id)] == ["done.txt"]


def test_environments_are_stored_once_and_shared(tracking: Tracking) -> None:
    env = Environment(digest="d" * 64, python_version="3.11.9", platform="Linux", packages={"numpy": "2.0"})
    experiment_id = tracking.experiments.create("e")
    a = tracking.runs.create(experiment_id, user="u", environment=env)
    b = tracking.runs.create(experiment_id, user="u", environment=env)
    assert a.info.environment_digest == b.info.environment_digest == env.digest
    with tracking.db.read() as conn:
        stored = environment_rows.get(conn, env.digest)
    assert stored == {
        "digest": env.digest,
        "python_version": "3.11.9",
        "platform": "Linux",
        "packages": {"numpy": "2.0"},
    }
