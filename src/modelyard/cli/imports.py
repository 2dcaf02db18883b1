"""``modelyard import``: bring data in from another tool (``import mlflow --from URI``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, err_console, print_json
from modelyard.migrate import import_mlflow
from modelyard.migrate.mlflow_source import _require_local_store

app = typer.Typer(help="Import from other tools (MLflow).", no_args_is_help=True)


@app.command("mlflow")
def mlflow_(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The MLflow tracking URI: sqlite:///mlflow.db, postgresql://…, a file store folder (mlruns), "
            "or an MLflow server's http(s):// URL.",
        ),
    ],
    artifacts: Annotated[
        str | None,
        typer.Option(
            "--artifacts",
            help="Where the store's artifact root is now, when it moved since the runs were logged "
            "(each experiment's files are then read below <root>/<experiment id>).",
        ),
    ] = None,
    no_artifacts: Annotated[bool, typer.Option("--no-artifacts", help="Import metadata only, no files.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Import an MLflow store: experiments, runs (params, tags, every metric value, artifacts),
    logged models, registered models with their versions, stages and aliases. Importing the
    same store again adds nothing."""
    _require_local_store(source)  # a mistyped source creates no store here
    services = backend(create=True)  # importing writes: it may create the store
    columns = [TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=False) as progress:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        summary = import_mlflow(services, source, artifacts_root=artifacts, artifacts=not no_artifacts, progress=report)
    if as_json:
        print_json({**summary.counts(), "skipped": summary.skipped})
        return
    table = Table(title=f"Imported from {source}")
    table.add_column("what")
    table.add_column("added", justify="right")
    for what, count in summary.counts().items():
        table.add_row(what.replace("_", " "), str(count))
    console.print(table)
    for line in summary.skipped:
        err_console.print(f"[yellow]skipped[/yellow] {line}")
