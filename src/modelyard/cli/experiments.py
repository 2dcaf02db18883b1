"""``modelyard experiments``: list, create, rename, delete and restore experiments."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, fmt_time, print_json

app = typer.Typer(help="Manage experiments.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("list")
def list_(
    deleted: Annotated[bool, typer.Option("--deleted", help="Show only deleted experiments.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Show active and deleted experiments.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List experiments."""
    experiments = backend().experiments.list(include_deleted=all_, only_deleted=deleted)
    if as_json:
        print_json(experiments)
        return
    table = Table(title="Experiments")
    for column in ("id", "name", "stage", "created", "artifact location"):
        table.add_column(column)
    for e in experiments:
        table.add_row(e.experiment_id, e.name, e.lifecycle_stage.value, fmt_time(e.creation_time), e.artifact_location)
    console.print(table)


@app.command()
def create(
    name: str,
    artifact_location: Annotated[str | None, typer.Option(help="Where the runs' artifacts go.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an experiment."""
    experiment_id = backend(create=True).experiments.create(name, artifact_location=artifact_location)
    if as_json:
        print_json({"experiment_id": experiment_id, "name": name})
    else:
        console.print(f"created experiment {name!r} with id {experiment_id}")


@app.command()
def rename(experiment: str, new_name: str) -> None:
    """Rename an experiment (given by name or id)."""
    b = backend()
    found = b.experiments.resolve(experiment)
    b.experiments.rename(found.experiment_id, new_name)
    console.print(f"renamed experiment {found.name!r} to {new_name!r}")


@app.command()
def delete(experiment: str) -> None:
    """Delete an experiment (by name or id); its runs are kept and it can be restored."""
    b = backend()
    found = b.experiments.resolve(experiment)
    b.experiments.delete(found.experiment_id)
    console.print(
        f"deleted experiment {found.name!r} (id {found.experiment_id}); restore it with "
        f"`modelyard experiments restore {found.experiment_id}`"
    )


@app.command()
def restore(experiment: str) -> None:
    """Restore a deleted experiment (by name or id)."""
    b = backend()
    found = b.experiments.resolve(experiment)
    b.experiments.restore(found.experiment_id)
    console.print(f"restored experiment {found.name!r}")
