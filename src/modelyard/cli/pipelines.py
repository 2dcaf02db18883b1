"""``modelyard pipelines`` and ``modelyard gate``: run, resume and inspect pipelines; check a verdict.

``run`` and ``resume`` show the steps live (a rich table refreshed as each step changes state) and
exit non-zero when the pipeline fails. ``gate`` prints a model version's verdict as a table and
exits 1 when the version is not blessed, so CI jobs can stop on it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, fmt_duration, fmt_time, print_json
from modelyard.config import Settings
from modelyard.domain.pipelines import PipelineRun, StepStatus
from modelyard.errors import InvalidInput
from modelyard.pipelines.live import run_live, steps_table
from modelyard.pipelines.records import get_pipeline_run, list_pipeline_runs, list_step_runs
from modelyard.pipelines.triggers import DEFAULT_DATASET_PARAM, add_schedule, list_schedules, remove_schedule
from modelyard.sdk.client import Client

if TYPE_CHECKING:
    from modelyard.pipelines import PipelineResult
    from modelyard.pipelines.gates import Verdict
    from modelyard.pipelines.scheduler import Firing

app = typer.Typer(help="Run, resume and inspect pipelines.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _client(*, create: bool = False) -> Client:
    """A client on the store the environment names; it must exist unless the command writes."""
    backend(create=create)  # opens (or refuses) the store the client below then shares
    return Client(Settings.from_env())


def _parse_params(values: list[str]) -> dict[str, str]:
    params = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--param takes key=value, not {item!r}")
        params[key.strip()] = value
    return params


def _finish(result: PipelineResult) -> None:
    status = "[green]FINISHED[/green]" if result.succeeded else "[red]FAILED[/red]"
    console.print(f"pipeline run {result.run.run_id} {status}")
    if not result.succeeded:
        failed = [s for s in result.steps if s.status is StepStatus.FAILED]
        for s in failed:
            console.print(f"[red]step {s.step_id} failed:[/red] {s.error}", markup=True, soft_wrap=True)
        console.print(f"fix it, then: modelyard pipelines resume {result.run.run_id}")
        sys.exit(1)  # not typer.Exit: the root runs click with standalone_mode=False, which drops its code


@app.command("run")
def run(
    target: Annotated[str, typer.Argument(help="The pipeline as module:attribute, e.g. flows.train:training.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="A pipeline parameter, key=value.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Execute every step, reusing nothing.")] = False,
    executor: Annotated[
        str, typer.Option(help="inprocess, local (parallel processes) or ray (MODELYARD_RAY_ADDRESS).")
    ] = "inprocess",
) -> None:
    """Run a pipeline with a live view of its steps."""
    from modelyard.pipelines import load_pipeline, run_pipeline  # the runner: only running needs it

    pipeline = load_pipeline(target)
    params = _parse_params(param or [])
    client = _client(create=True)
    result = run_live(
        console,
        pipeline.name,
        lambda on_step: run_pipeline(
            pipeline, params, client=client, cache=not no_cache, executor=executor, on_step=on_step
        ),
    )
    _finish(result)


@app.command("resume")
def resume(run_id: Annotated[str, typer.Argument(help="The failed pipeline run.")]) -> None:
    """Run a failed pipeline run again, executing only the failed step and those after it."""
    from modelyard.pipelines import resume_pipeline  # the runner: only running needs it

    client = _client()
    run_id = client.backend.runs.resolve_id(run_id)
    previous = get_pipeline_run(client, run_id)
    result = run_live(
        console,
        f"{previous.pipeline} (resuming {run_id[:8]})",
        lambda on_step: resume_pipeline(run_id, client=client, on_step=on_step),
    )
    _finish(result)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Pipelines that have runs, with their latest run."""
    latest: dict[str, PipelineRun] = {}
    counts: dict[str, int] = {}
    for r in list_pipeline_runs(_client(), limit=10_000):
        latest.setdefault(r.pipeline, r)
        counts[r.pipeline] = counts.get(r.pipeline, 0) + 1
    if as_json:
        print_json([{"pipeline": k, "runs": counts[k], "latest": v} for k, v in latest.items()])
        return
    table = Table(title="Pipelines")
    for column in ("pipeline", "target", "runs", "latest run", "status", "started"):
        table.add_column(column)
    for name, r in latest.items():
        table.add_row(name, r.target, str(counts[name]), r.run_id, r.status.value, fmt_time(r.created_at))
    console.print(table)


@app.command("runs")
def runs(
    pipeline: Annotated[str | None, typer.Argument(help="Only runs of this pipeline.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many runs.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Pipeline runs, newest first."""
    found = list_pipeline_runs(_client(), pipeline=pipeline, limit=limit)
    if as_json:
        print_json(found)
        return
    table = Table(title="Pipeline runs")
    for column in ("run", "pipeline", "status", "executor", "cache", "started", "duration", "params"):
        table.add_column(column, overflow="fold")
    for r in found:
        params = ", ".join(f"{k}={v}" for k, v in sorted(r.params.items()))
        table.add_row(
            r.run_id,
            r.pipeline,
            r.status.value,
            r.executor,
            "on" if r.use_cache else "off",
            fmt_time(r.created_at),
            fmt_duration(r.created_at, r.ended_at),
            params,
        )
    console.print(table)


@app.command("show")
def show(run_id: Annotated[str, typer.Argument(help="A pipeline run id.")], as_json: JsonOpt = False) -> None:
    """One pipeline run and its steps."""
    client = _client()
    run_id = client.backend.runs.resolve_id(run_id)
    found = get_pipeline_run(client, run_id)
    steps = list_step_runs(client, run_id)
    if as_json:
        print_json({"run": found, "steps": steps})
        return
    console.print(f"pipeline {found.pipeline} ({found.target}) run {found.run_id}: {found.status.value}")
    console.print(steps_table(found.pipeline, steps))


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _verdict_table(verdict: Verdict) -> Table:
    table = Table(title=f"Gate verdict for {verdict.model} (champion: {verdict.champion or 'none'})")
    for column in ("check", "metric", "candidate", "reference", "result", "detail"):
        table.add_column(column)
    for c in verdict.checks:
        result = "[green]pass[/green]" if c.passed else "[red]FAIL[/red]"
        table.add_row(c.name, c.metric, _figure(c.candidate), _figure(c.reference), result, c.detail)
    return table


def gate(
    model_uri: Annotated[str, typer.Argument(help="models:/<name>/<version> or models:/<name>@<alias>.")],
    as_json: JsonOpt = False,
) -> None:
    """Show a model version's gate verdict; exit 1 when it is not blessed."""
    from modelyard.pipelines.gates import read_verdict  # the evaluation stack: only this command needs it

    verdict = read_verdict(_client(), model_uri)
    if as_json:
        print_json(verdict.to_dict())
    else:
        console.print(_verdict_table(verdict))
        label = "[green]BLESSED[/green]" if verdict.blessed else "[red]NOT BLESSED[/red]"
        console.print(f"{verdict.model}: {label}")
    if not verdict.blessed:
        sys.exit(1)  # not typer.Exit: the root runs click with standalone_mode=False, which drops its code


schedule_app = typer.Typer(help="Cron and dataset triggers of pipelines.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")


@schedule_app.command("add")
def schedule_add(
    target: Annotated[str, typer.Argument(help="The pipeline as module:attribute.")],
    cron: Annotated[str | None, typer.Option("--cron", help="When to run, e.g. '*/5 * * * *' (UTC).")] = None,
    on_dataset: Annotated[
        str | None, typer.Option("--on-dataset", help="Run on each new version of this dataset.")
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="A pipeline parameter, key=value.")] = None,
    dataset_param: Annotated[
        str, typer.Option(help="The parameter that gets datasets:/NAME@<digest> (with --on-dataset).")
    ] = DEFAULT_DATASET_PARAM,
    executor: Annotated[
        str, typer.Option(help="inprocess, local (parallel processes) or ray (MODELYARD_RAY_ADDRESS).")
    ] = "inprocess",
) -> None:
    """Store a schedule; `modelyard scheduler` runs the pipeline when it is due."""
    schedule = add_schedule(
        _client(create=True),
        target,
        cron=cron,
        on_dataset=on_dataset,
        params=_parse_params(param or []),
        dataset_param=dataset_param,
        executor=executor,
    )
    when = f"next at {fmt_time(schedule.next_fire_at)}" if schedule.next_fire_at else "on its next version"
    console.print(f"schedule {schedule.schedule_id}: {schedule.target} on {schedule.trigger} ({when})")


@schedule_app.command("list")
def schedule_list(as_json: JsonOpt = False) -> None:
    """Stored schedules, with their next firing and last run."""
    found = list_schedules(_client())
    if as_json:
        print_json(found)
        return
    table = Table(title="Pipeline schedules")
    for column in ("id", "pipeline", "trigger", "params", "next", "last fired", "last run", "last error"):
        table.add_column(column, overflow="fold")
    for s in found:
        table.add_row(
            s.schedule_id,
            s.target,
            s.trigger,
            ", ".join(f"{k}={v}" for k, v in sorted(s.params.items())),
            fmt_time(s.next_fire_at) if s.next_fire_at else "-",
            fmt_time(s.last_fired_at) if s.last_fired_at else "-",
            s.last_run_id or "-",
            s.last_error or "",
        )
    console.print(table)


@schedule_app.command("remove")
def schedule_remove(schedule_id: Annotated[str, typer.Argument(help="The schedule's id.")]) -> None:
    """Delete a schedule."""
    remove_schedule(_client(), schedule_id)
    console.print(f"schedule {schedule_id} removed")


def scheduler(
    once: Annotated[bool, typer.Option("--once", help="Check the schedules once and exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between checks.", min=1.0)] = 30.0,
) -> None:
    """Run the pipelines whose schedule is due (several schedulers may run; each firing happens once)."""
    from modelyard.pipelines.scheduler import Scheduler  # the runner: only running needs it

    runner = Scheduler(_client())

    def report(fired: list[Firing]) -> None:
        for f in fired:
            outcome = "[green]FINISHED[/green]" if f.succeeded else f"[red]FAILED[/red] {f.error or ''}"
            console.print(f"schedule {f.schedule_id} ({f.reason}): {f.target} run {f.run_id or '-'} {outcome}")

    if once:
        report(runner.tick())
        return
    console.print(f"scheduler started: checking every {interval:g} s (Ctrl-C to stop)")
    try:
        runner.run_forever(interval_s=interval, on_tick=report)
    except KeyboardInterrupt:
        console.print("scheduler stopped")
