"""``modelyard runs``: list, show, compare, delete, restore and gc runs."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Annotated

import typer
from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import STATUS_STYLE, console, fmt_duration, fmt_time, fmt_value, print_json
from modelyard.domain.tracking import PurgeReport, Run
from modelyard.errors import InvalidInput

app = typer.Typer(help="Inspect and manage runs.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
MAX_METRIC_COLUMNS = 6


def _status(run: Run) -> str:
    status = run.info.status.value
    return f"[{STATUS_STYLE[status]}]{status}[/]"


@app.command("list")
def list_(
    experiment: Annotated[
        list[str] | None, typer.Option("--experiment", "-e", help="Experiment name or id (repeatable); default all.")
    ] = None,
    filter_: Annotated[
        str, typer.Option("--filter", "-f", help="e.g. \"metrics.auc > 0.9 and params.model = 'rf'\"")
    ] = "",
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", "-o", help="e.g. 'metrics.auc DESC' (repeatable)")
    ] = None,
    max_results: Annotated[int, typer.Option("--max", "-n", help="At most this many runs.")] = 50,
    deleted: Annotated[bool, typer.Option("--deleted", help="Show deleted runs instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List runs, filtered and ordered with the search language."""
    b = backend()
    if experiment:
        ids = [b.experiments.resolve(e).experiment_id for e in experiment]
    else:
        ids = [e.experiment_id for e in b.experiments.list()]
    page = b.search.search(
        ids, filter_ or None, order_by, max_results=max_results, view="DELETED_ONLY" if deleted else "ACTIVE_ONLY"
    )
    runs = list(page)
    if as_json:
        print_json(runs)
        return
    names = {e.experiment_id: e.name for e in b.experiments.list(include_deleted=True)}
    keys = [k for k, _ in Counter(k for r in runs for k in r.data.metrics).most_common(MAX_METRIC_COLUMNS)]
    table = Table(title=f"Runs ({len(runs)}{'+' if page.token else ''})")
    for column in ("run id", "experiment", "name", "status", "started", "duration", *keys):
        table.add_column(column, justify="right" if column in keys else "left", no_wrap=column == "run id")
    for r in runs:
        table.add_row(
            r.info.run_id[:8],
            names.get(r.info.experiment_id, r.info.experiment_id),
            r.info.run_name,
            _status(r),
            fmt_time(r.info.start_time),
            fmt_duration(r.info.start_time, r.info.end_time),
            *(fmt_value(r.data.metrics[k]) if k in r.data.metrics else "-" for k in keys),
        )
    console.print(table)


@app.command()
def show(run_id: str, as_json: JsonOpt = False) -> None:
    """Everything about one run: attributes, params, metrics, tags and top-level artifacts."""
    b = backend()
    run = b.runs.get(b.runs.resolve_id(run_id))
    artifacts = b.artifacts.list(run.info.run_id)
    if as_json:
        print_json({"run": run, "artifacts": artifacts})
        return
    info = run.info
    attributes = Table.grid(padding=(0, 2))
    for label, value in (
        ("run id", info.run_id),
        ("name", info.run_name),
        ("experiment", info.experiment_id),
        ("status", _status(run)),
        ("user", info.user),
        ("started", fmt_time(info.start_time)),
        ("ended", fmt_time(info.end_time)),
        ("duration", fmt_duration(info.start_time, info.end_time)),
        ("parent", info.parent_run_id or "-"),
        ("source", info.source.name or "-"),
        ("git commit", f"{info.source.git_commit or '-'}{' (dirty)' if info.source.git_dirty else ''}"),
        ("artifacts", info.artifact_uri),
    ):
        attributes.add_row(f"[bold]{label}[/]", value)
    parts: list[object] = [attributes]
    for title, values in (("params", run.data.params), ("metrics", run.data.metrics), ("tags", run.data.tags)):
        if values:
            table = Table(title=title, title_justify="left")
            table.add_column("key")
            table.add_column("value", justify="right" if title == "metrics" else "left")
            for key in sorted(values):
                table.add_row(key, fmt_value(values[key]))
            parts.append(table)
    if artifacts:
        files = Table(title="artifacts", title_justify="left")
        files.add_column("path")
        files.add_column("size", justify="right")
        for f in artifacts:
            files.add_row(f.path + ("/" if f.is_dir else ""), "-" if f.file_size is None else f"{f.file_size:,}")
        parts.append(files)
    console.print(Panel(Group(*parts), title=f"run {info.run_name}"))  # type: ignore[arg-type]


@app.command()
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids or prefixes.")], as_json: JsonOpt = False
) -> None:
    """Params and metrics of runs side by side; rows that differ are highlighted."""
    b = backend()
    if len(run_ids) < 2:
        raise typer.BadParameter("give at least two runs to compare")
    runs = b.runs.get_many([b.runs.resolve_id(r) for r in run_ids])
    if as_json:
        print_json(runs)
        return
    table = Table(title="Run comparison")
    table.add_column("")
    for r in runs:
        table.add_column(f"{r.info.run_name}\n{r.info.run_id[:8]}", justify="right")
    rows: list[tuple[str, list[str]]] = [("status", [r.info.status.value for r in runs])]
    rows.append(("duration", [fmt_duration(r.info.start_time, r.info.end_time) for r in runs]))
    for kind in ("params", "metrics"):
        keys = sorted({k for r in runs for k in getattr(r.data, kind)})
        for key in keys:
            values = [fmt_value(getattr(r.data, kind)[key]) if key in getattr(r.data, kind) else "-" for r in runs]
            rows.append((f"{kind}.{key}", values))
    for label, values in rows:
        differs = len(set(values)) > 1
        table.add_row(f"[bold yellow]{label}[/]" if differs else label, *values)
    console.print(table)


@app.command()
def delete(run_id: str) -> None:
    """Delete a run (it can be restored)."""
    b = backend()
    full = b.runs.resolve_id(run_id)
    b.runs.delete(full)
    console.print(f"deleted run {full}")


@app.command()
def restore(run_id: str) -> None:
    """Restore a deleted run."""
    b = backend()
    full = b.runs.resolve_id(run_id)
    b.runs.restore(full)
    console.print(f"restored run {full}")


@app.command()
def gc(
    timeout: Annotated[
        float | None, typer.Option(help="Seconds without a heartbeat before a RUNNING run counts as dead.")
    ] = None,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            help="Also downsample the metric histories of runs that ended longer ago than this (30d, 12h, 90m).",
        ),
    ] = None,
    buckets: Annotated[
        int,
        typer.Option(help="Step ranges per metric when downsampling: each keeps its lowest, highest and last value."),
    ] = 1_000,
    purge_deleted: Annotated[
        bool,
        typer.Option(
            "--purge-deleted",
            help="Also remove deleted runs for good (rows and artifact folders); runs a model version, "
            "pipeline or kept child run needs stay and are reported.",
        ),
    ] = False,
    deleted_older_than: Annotated[
        str | None,
        typer.Option(
            "--deleted-older-than", help="With --purge-deleted: only runs deleted longer ago than this (30d)."
        ),
    ] = None,
    run: Annotated[
        list[str] | None,
        typer.Option("--run", "-r", help="With --purge-deleted: only this run (id or prefix; repeatable)."),
    ] = None,
    experiment: Annotated[
        list[str] | None,
        typer.Option("--experiment", "-e", help="With --purge-deleted: only runs of this experiment (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what downsampling and purging would remove; change nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Store the metrics killed processes spooled, end as KILLED the runs whose process died (no
    heartbeat within the timeout), with --older-than downsample old runs' metric histories, and with
    --purge-deleted remove deleted runs for good."""
    if not purge_deleted and (deleted_older_than is not None or run or experiment):
        raise InvalidInput("--deleted-older-than, --run and --experiment need --purge-deleted")
    # Durations are read before anything changes: a typo must not leave half a gc done.
    downsample_ms, purge_ms = _duration(older_than), _duration(deleted_older_than)
    b = backend()
    replayed = b.replay_spools()
    killed = b.runs.gc(b.settings.heartbeat_timeout_s if timeout is None else timeout)
    report = None if downsample_ms is None else b.retention.downsample(downsample_ms, buckets=buckets, dry_run=dry_run)
    purged = None
    if purge_deleted:
        purged = b.purge.purge_deleted(
            older_than_ms=purge_ms,
            run_ids=[b.runs.resolve_id(r) for r in run] if run else None,
            experiment_ids=[b.experiments.resolve(e).experiment_id for e in experiment] if experiment else None,
            dry_run=dry_run,
        )
    if as_json:
        out: dict[str, object] = {"killed": killed, "replayed_metrics": replayed.stored}
        if report is not None:
            out["downsampled"] = {
                "dry_run": report.dry_run,
                "runs_examined": report.runs_examined,
                "runs_reduced": report.runs_reduced,
                "values_removed": report.values_removed,
                "bytes_reclaimed": report.bytes_reclaimed,
            }
        if purged is not None:
            out["purged"] = dataclasses.asdict(purged)
        print_json(out)
        return
    if replayed.stored:
        console.print(f"stored {replayed.stored} metric(s) from the spools of killed processes")
    if killed:
        console.print(f"marked {len(killed)} run(s) KILLED: " + ", ".join(k[:8] for k in killed))
    else:
        console.print("no dead runs")
    if report is not None:
        size = "" if report.bytes_reclaimed is None else f" (~{report.bytes_reclaimed / 1e6:,.1f} MB reclaimed)"
        verb = "would remove" if report.dry_run else "removed"
        console.print(
            f"downsampled {len(report.runs_reduced)} of {report.runs_examined} run(s) ended over {older_than} ago: "
            f"{verb} {report.values_removed:,} metric value(s){size}"
        )
    if purged is not None:
        _print_purge(purged, deleted_older_than)


def _duration(text: str | None) -> int | None:
    if text is None:
        return None
    from modelyard.monitoring.windows import parse_duration  # pulls in pandas: only when asked

    return parse_duration(text)


def _print_purge(report: PurgeReport, age: str | None) -> None:
    verb = "would purge" if report.dry_run else "purged"
    when = f" deleted over {age} ago" if age else " deleted"
    rows = sum(report.rows_removed.values())
    dry = " (dry run: nothing removed)" if report.dry_run else ""
    console.print(
        f"{verb} {len(report.purged)} run(s){when}: {rows:,} row(s) and "
        f"{report.artifact_bytes / 1e6:,.1f} MB of artifacts{dry}"
    )
    for kept in report.kept:
        console.print(f"kept {kept.run_id[:8]}: {kept.reason}", markup=False, highlight=False)
    if report.artifact_errors:
        console.print(
            f"could not remove the artifact folders of {len(report.artifact_errors)} purged run(s): "
            + ", ".join(r[:8] for r in report.artifact_errors)
        )
