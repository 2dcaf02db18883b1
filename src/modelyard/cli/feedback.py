"""``modelyard feedback``: record late ground-truth labels for served requests.

``import`` reads a CSV with ``request_id`` and ``label`` columns in chunks (any size of file), so
labels exported from a warehouse can be joined to the inference log by the monitoring reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli._backend import backend
from modelyard.cli._output import console

app = typer.Typer(help="Record late ground-truth labels for served requests.", no_args_is_help=True)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV file with request_id,label columns.")],
) -> None:
    """Import labels from FILE; a request id labelled again gets the newer label."""
    count = backend().feedback.import_csv(file)
    console.print(f"imported {count} label(s) from {file}")
