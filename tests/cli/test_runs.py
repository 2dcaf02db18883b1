"""``modelyard runs``: list, show, compare, delete and gc, seeded through the SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.conftest import RunCli
from modelyard.domain.tracking import LifecycleStage, RunStatus
from modelyard.errors import NotFound
from modelyard.sdk.client import Client


@pytest.fixture
def seeded(cli_client: Client) -> dict[str, str]:
    """Three runs in experiment "churn": run name -> run id."""
    experiment_id = cli_client.create_experiment("churn")
    ids = {}
    for name, auc, model in (("rf", 0.95, "rf"), ("gbm", 0.97, "gbm"), ("lr", 0.80, "lr")):
        run_id = cli_client.create_run(experiment_id, run_name=name).info.run_id
        cli_client.log_param(run_id, "model", model)
        cli_client.log_metric(run_id, "auc", auc)
        cli_client.log_text(run_id, "notes", "notes.txt")
        if name == "lr":
            cli_client.log_metric(run_id, "loss", float("inf"))  # JSON has no infinity
        cli_client.set_terminated(run_id)
        ids[name] = run_id
    return ids


def test_list_filters_and_orders_for_scripts(run_cli: RunCli, seeded: dict[str, str]) -> None:
    done = run_cli(
        "runs", "list", "-e", "churn", "--filter", "metrics.auc > 0.9", "--order-by", "metrics.auc DESC", "--json"
    )
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)
    assert [r["info"]["run_name"] for r in runs] == ["gbm", "rf"]
    assert runs[0]["data"]["metrics"] == {"auc": 0.97} and runs[0]["info"]["status"] == "FINISHED"


def test_list_and_show_for_people(run_cli: RunCli, seeded: dict[str, str]) -> None:
    listed = run_cli("runs", "list")
    assert listed.returncode == 0, listed.stderr
    for name, run_id in seeded.items():
        assert run_id[:8] in listed.stdout and name in listed.stdout
    shown = run_cli("runs", "show", seeded["rf"][:8])
    assert shown.returncode == 0, shown.stderr
    for text in (seeded["rf"], "FINISHED", "model", "0.95", "notes.txt", "tester"):
        assert text in shown.stdout


def test_show_and_compare_as_json(run_cli: RunCli, seeded: dict[str, str]) -> None:
    shown = run_cli("runs", "show", seeded["lr"], "--json")
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout, parse_constant=lambda name: pytest.fail(f"not strict JSON: {name}"))
    assert body["run"]["data"]["params"] == {"model": "lr"}
    assert body["run"]["data"]["metrics"] == {"auc": 0.8, "loss": "inf"}
    assert body["artifacts"] == [{"path": "notes.txt", "is_dir": False, "file_size": 5}]
    compared = run_cli("runs", "compare", seeded["rf"][:6], seeded["gbm"][:6], "--json")
    assert compared.returncode == 0, compared.stderr
    assert [r["data"]["params"]["model"] for r in json.loads(compared.stdout)] == ["rf", "gbm"]


def test_a_bad_filter_is_a_readable_error(run_cli: RunCli, seeded: dict[str, str]) -> None:
    done = run_cli("runs", "list", "--filter", "metrics.auc > 'high'")
    assert done.returncode == 2  # InvalidInput
    assert done.stderr.startswith("error: invalid filter at column 14: metrics compare with numbers, got string 'high'")
    assert "Traceback" not in done.stderr


def test_delete_then_gc(run_cli: RunCli, cli_client: Client, seeded: dict[str, str]) -> None:
    deleted = run_cli("runs", "delete", seeded["lr"][:10])
    assert deleted.returncode == 0, deleted.stderr
    assert cli_client.get_run(seeded["lr"]).info.lifecycle_stage is LifecycleStage.DELETED
    running = cli_client.create_run(run_name="orphan").info.run_id
    gc = run_cli("runs", "gc", "--timeout", "0.001", "--json")
    assert gc.returncode == 0, gc.stderr
    assert json.loads(gc.stdout) == {"killed": [running], "replayed_metrics": 0}
    assert cli_client.get_run(running).info.status is RunStatus.KILLED


def test_gc_older_than_downsamples_old_histories_and_reports_the_storage(run_cli: RunCli, cli_client: Client) -> None:
    run_id = cli_client.create_run(run_name="long").info.run_id
    cli_client.log_batch(run_id, metrics=[{"key": "loss", "value": 1 / (1 + i), "step": i} for i in range(500)])
    cli_client.set_terminated(run_id)
    dry = run_cli("runs", "gc", "--older-than", "1ms", "--buckets", "10", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)["downsampled"]
    assert report["dry_run"] and report["runs_reduced"] == [run_id] and report["values_removed"] > 0
    assert len(cli_client.get_metric_history(run_id, "loss")) == 500
    done = run_cli("runs", "gc", "--older-than", "1ms", "--buckets", "10")
    assert done.returncode == 0, done.stderr
    left = cli_client.get_metric_history(run_id, "loss")
    assert len(left) == 500 - report["values_removed"] and len(left) <= 30
    assert f"removed {report['values_removed']:,} metric value(s)" in done.stdout
    assert left[-1].step == 499 and left[0].step == 0  # the highest value (first) and the last stay


def test_gc_purge_deleted_removes_deleted_runs_and_prints_the_report(
    run_cli: RunCli, cli_client: Client, seeded: dict[str, str]
) -> None:
    deleted = seeded["lr"]
    cli_client.delete_run(deleted)
    folder = Path(cli_client.get_run(deleted).info.artifact_uri).parent
    dry = run_cli("runs", "gc", "--purge-deleted", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)["purged"]
    assert report["dry_run"] and report["purged"] == [deleted] and report["kept"] == []
    assert report["rows_removed"]["runs"] == 1 and report["artifact_bytes"] > 0
    assert folder.exists() and cli_client.get_run(deleted).info.run_id == deleted

    recent = run_cli("runs", "gc", "--purge-deleted", "--deleted-older-than", "30d")
    assert recent.returncode == 0, recent.stderr
    assert "purged 0 run(s) deleted over 30d ago" in recent.stdout
    done = run_cli("runs", "gc", "--purge-deleted", "--run", deleted[:8])
    assert done.returncode == 0, done.stderr
    assert f"purged 1 run(s) deleted: {sum(report['rows_removed'].values()):,} row(s)" in done.stdout
    assert not folder.exists()
    with pytest.raises(NotFound):
        cli_client.get_run(deleted)
    assert cli_client.get_run(seeded["rf"]).info.lifecycle_stage is LifecycleStage.ACTIVE
    kept = run_cli("runs", "gc", "--purge-deleted", "--run", seeded["rf"])
    assert f"kept {seeded['rf'][:8]}: it is not deleted (delete it first)" in kept.stdout
    assert run_cli("audit", "verify").returncode == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--purge-deleted", "--deleted-older-than", "soon"), 2, "cannot read 'soon' as a duration"),
        (("--deleted-older-than", "30d"), 2, "need --purge-deleted"),
        (("--purge-deleted", "--run", "ffffffff"), 4, "no run"),
    ],
)
def test_gc_purge_deleted_bad_input_is_one_line(
    run_cli: RunCli, args: tuple[str, ...], code: int, message: str
) -> None:
    done = run_cli("runs", "gc", *args)
    assert done.returncode == code and message in done.stderr and done.stderr.count("\n") == 1, done.stderr


pytestmark = pytest.mark.slow  # each test runs the real command in new interpreters
