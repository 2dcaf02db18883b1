"""``modelyard explain MODEL_URI --data DATASET_URI``: a global explanation, recorded with the model.

Prints the features by mean |SHAP| and how exact the figures are; ``--out`` writes the HTML
summary (importance bars, per-row distribution, a dependence plot of ``--feature``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, err_console, print_json
from modelyard.config import Settings
from modelyard.sdk.client import Client
from modelyard.sdk.explain import record_explanation


def explain(
    model_uri: Annotated[str, typer.Argument(help="models:/<name>/<version>, models:/<name>@<alias> or runs:/...")],
    data: Annotated[str, typer.Option("--data", help="datasets:/<name>@<digest> holding the model's inputs.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the HTML summary here.")] = None,
    feature: Annotated[str | None, typer.Option("--feature", help="Feature of the dependence plot.")] = None,
    class_index: Annotated[
        int | None, typer.Option("--class-index", help="Class explained (default: the last, the positive class).")
    ] = None,
    top: Annotated[int, typer.Option(help="Features shown in the table.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Explain MODEL_URI on --data with SHAP and record it with the model version."""
    backend()  # a store that does not exist is "no modelyard store", never created by a read of a model
    client = Client(Settings.from_env())
    columns = [TextColumn("explaining"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=True, disable=not err_console.is_terminal) as progress:
        task = progress.add_task("rows", total=None)
        result = record_explanation(
            client,
            model_uri,
            data,
            feature=feature,
            out=out,
            class_index=class_index,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    summary = result.summary
    if as_json:
        print_json(summary.to_dict())
        return
    table = Table(title=f"{summary.model}: mean |SHAP| ({summary.output})")
    table.add_column("feature")
    table.add_column("mean |SHAP|", justify="right")
    for name, value in summary.importance[:top]:
        table.add_row(name, f"{value:.6g}")
    console.print(table)
    exactness = "exact" if summary.exact else "APPROXIMATE"
    console.print(f"{summary.method.value} explainer ({exactness}): {summary.note}")
    console.print(f"{summary.rows} rows of {summary.data} in {summary.seconds:.2f} s; recorded in {summary.location}")
    if out is not None:
        console.print(f"wrote {out}")
