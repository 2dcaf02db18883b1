"""Triggers: a cron schedule fires when its time comes, a new dataset version starts a run, and a
due schedule fires once even when two schedulers look at it at the same time."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd
import pytest

from modelyard.cli.app import main
from modelyard.clock import FixedClock
from modelyard.config import Settings
from modelyard.errors import InvalidInput, NotFound
from modelyard.pipelines import get_pipeline_run, list_step_runs
from modelyard.pipelines.materializers import load_output
from modelyard.pipelines.scheduler import Scheduler
from modelyard.pipelines.triggers import add_schedule, get_schedule, list_schedules, remove_schedule
from modelyard.sdk.client import Client
from modelyard.store.tables.schedules import pipeline_schedules

START_MS = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC; "*/5" next fires at 22:15:00
FIVE_MIN_MS = 300_000


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def test_a_cron_schedule_fires_when_due_and_then_waits_for_the_next_time(client: Client, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    clock = FixedClock(START_MS)
    schedule = add_schedule(
        client,
        "tests.pipelines.scheduled_flows:nightly",
        cron="*/5 * * * *",
        params={"trace": str(trace), "label": "cron"},
        clock=clock,
    )
    assert schedule.next_fire_at == START_MS + 100_000
    scheduler = Scheduler(client, clock=clock)

    assert scheduler.tick() == []  # 22:13:20: not yet
    clock.advance(99_999)
    assert scheduler.tick() == [] and _lines(trace) == []

    clock.advance(1)  # 22:15:00
    [firing] = scheduler.tick()
    assert firing.succeeded and firing.reason == "cron */5 * * * *"
    assert _lines(trace) == ["cron"]
    run = get_pipeline_run(client, firing.run_id or "")
    assert run.params["label"] == "cron" and run.target == "tests.pipelines.scheduled_flows:nightly"
    stored = get_schedule(client, schedule.schedule_id)
    assert stored.last_run_id == firing.run_id and stored.last_error is None
    assert stored.next_fire_at == START_MS + 100_000 + FIVE_MIN_MS

    assert scheduler.tick() == []  # same minute: already fired
    clock.advance(3 * FIVE_MIN_MS + 1_000)  # three firings missed: coalesced into one
    assert len(scheduler.tick()) == 1 and _lines(trace) == ["cron", "cron"]
    assert get_schedule(client, schedule.schedule_id).next_fire_at == START_MS + 100_000 + 4 * FIVE_MIN_MS


def test_a_new_dataset_version_triggers_a_run_with_its_uri(client: Client, settings: Settings) -> None:
    datasets = client.backend.datasets
    first = datasets.log(pd.DataFrame({"x": [1, 2, 3]}), "churn-train", user="tester")
    schedule = add_schedule(client, "tests.pipelines.scheduled_flows:retrain", on_dataset="churn-train")
    scheduler = Scheduler(client)
    assert schedule.last_dataset_digest == first.digest
    assert scheduler.tick() == []  # the version that existed when the schedule was added is not new

    second = datasets.log(pd.DataFrame({"x": [1, 2, 3, 4, 5]}), "churn-train", user="tester")
    [firing] = scheduler.tick()
    uri = f"datasets:/churn-train@{second.digest}"
    assert firing.succeeded and firing.params == {"dataset": uri}
    run = get_pipeline_run(client, firing.run_id or "")
    assert run.params == {"dataset": uri}
    [step] = list_step_runs(client, run.run_id)
    assert step.output is not None and load_output(step.output, client) == {"rows": 5.0}

    assert scheduler.tick() == []  # nothing newer
    datasets.log(pd.DataFrame({"x": [1, 2, 3, 4, 5]}), "churn-train", user="tester")  # same content: no version
    assert scheduler.tick() == []
    assert get_schedule(client, schedule.schedule_id).last_dataset_digest == second.digest


def test_two_schedulers_fire_a_due_schedule_once(client: Client, settings: Settings, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    clock = FixedClock(START_MS)
    schedule = add_schedule(
        client, "tests.pipelines.scheduled_flows:nightly", cron="*/5 * * * *", params={"trace": str(trace)}, clock=clock
    )
    clock.advance(FIVE_MIN_MS)
    first, second = Scheduler(client, clock=clock), Scheduler(Client(settings), clock=clock)

    # Both read the schedule while it is due; only the first claim of that reading wins.
    stale = get_schedule(client, schedule.schedule_id)
    assert first.claim_if_due(stale) is not None
    assert second.claim_if_due(stale) is None

    # And two schedulers ticking at once at the next firing start one run between them.
    clock.advance(FIVE_MIN_MS)
    barrier = threading.Barrier(2)
    fired: list[int] = []

    def tick(scheduler: Scheduler) -> None:
        barrier.wait()
        fired.append(len(scheduler.tick()))

    threads = [threading.Thread(target=tick, args=(s,)) for s in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(fired) == [0, 1]
    assert _lines(trace) == ["nightly"]
    assert get_schedule(client, schedule.schedule_id).revision == 2


def test_a_failing_schedule_is_recorded_and_the_others_still_fire(client: Client, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    clock = FixedClock(START_MS)
    bad = add_schedule(
        client, "tests.pipelines.scheduled_flows:nightly", cron="* * * * *", params={"trace": str(trace)}, clock=clock
    )
    good = add_schedule(
        client, "tests.pipelines.scheduled_flows:nightly", cron="* * * * *", params={"trace": str(trace)}, clock=clock
    )
    # The pipeline's module changes after the schedule was added: the target no longer names a pipeline.
    with client.backend.db.begin() as conn:
        conn.execute(
            pipeline_schedules.update()
            .where(pipeline_schedules.c.schedule_id == bad.schedule_id)
            .values(target="tests.pipelines.scheduled_flows:broken")
        )
    clock.advance(60_000)
    firings = {f.schedule_id: f for f in Scheduler(client, clock=clock).tick()}
    assert not firings[bad.schedule_id].succeeded
    assert "RuntimeError: cannot plan with trace" in (get_schedule(client, bad.schedule_id).last_error or "")
    assert firings[good.schedule_id].succeeded and _lines(trace) == ["nightly"]


def test_bad_schedules_are_refused_when_added(client: Client) -> None:
    target = "tests.pipelines.scheduled_flows:nightly"
    with pytest.raises(InvalidInput, match="not a cron expression: 'every day'"):
        add_schedule(client, target, cron="every day", params={"trace": "t"})
    with pytest.raises(InvalidInput, match="exactly one trigger"):
        add_schedule(client, target, params={"trace": "t"})
    with pytest.raises(InvalidInput, match="needs a value for parameter"):
        add_schedule(client, target, cron="* * * * *")
    with pytest.raises(InvalidInput, match="no parameter 'dataset'"):
        add_schedule(client, target, on_dataset="churn", params={"trace": "t"})
    with pytest.raises(NotFound, match="cannot import module"):
        add_schedule(client, "nowhere.at_all:flow", cron="* * * * *")
    assert list_schedules(client) == []
    with pytest.raises(InvalidInput, match="'nope' is not a schedule id"):
        remove_schedule(client, "nope")
    with pytest.raises(NotFound, match="no schedule"):
        remove_schedule(client, "0" * 32)


def test_the_cli_adds_lists_fires_and_removes_schedules(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in (
        ("MODELYARD_HOME", str(settings.home)),
        ("MODELYARD_STORE_URI", settings.store_uri),
        ("MODELYARD_ARTIFACT_URI", settings.artifact_uri),
        ("MODELYARD_USER", "tester"),
    ):
        monkeypatch.setenv(name, value)

    def cli(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = cli("pipelines", "schedule", "add", "tests.pipelines.scheduled_flows:retrain", "--on-dataset", "d1")
    assert code == 0 and "on dataset d1" in out
    code, _, err = cli(
        "pipelines", "schedule", "add", "tests.pipelines.scheduled_flows:nightly", "--cron", "61 * * * *"
    )
    assert code != 0 and "not a cron expression: '61 * * * *'" in err
    code, out, _ = cli("pipelines", "schedule", "list", "--json")
    [listed] = json.loads(out)
    assert listed["on_dataset"] == "d1" and listed["dataset_param"] == "dataset"

    code, out, _ = cli("scheduler", "--once")
    assert code == 0 and "run" not in out  # no version of d1 yet
    version = client.backend.datasets.log(pd.DataFrame({"x": [1.0, 2.0]}), "d1", user="tester")
    code, out, _ = cli("scheduler", "--once")
    assert code == 0 and f"new version {version.digest[:12]} of dataset d1" in out and "FINISHED" in out
    assert get_schedule(client, listed["schedule_id"]).last_run_id is not None

    code, _, _ = cli("pipelines", "schedule", "remove", listed["schedule_id"])
    assert code == 0 and list_schedules(client) == []
    code, _, err = cli("pipelines", "schedule", "remove", listed["schedule_id"])
    assert code != 0 and "no schedule with id" in err
