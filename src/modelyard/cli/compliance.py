"""``modelyard compliance report NAME/VERSION --out DIR``: the EU AI Act Annex IV documentation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli._backend import backend
from modelyard.cli._governance import name_version
from modelyard.cli._output import console
from modelyard.domain.governance import FieldSource
from modelyard.governance import ComplianceService

app = typer.Typer(help="Technical documentation from the platform's records.", no_args_is_help=True)


@app.command()
def report(
    model: Annotated[str, typer.Argument(metavar="NAME/VERSION")],
    out: Annotated[Path, typer.Option("--out", help="Folder for annex-iv.json and annex-iv.html.")],
) -> None:
    """Write the Annex IV items, each marked filled-from-records or left-for-a-person."""
    name, version = name_version(model)
    b = backend()
    service = ComplianceService(b.db, actor=b.settings.user)
    json_path, html_path = service.write(name, version, out)
    fields = service.report(name, version).fields()
    filled = sum(1 for f in fields if f.source is FieldSource.RECORDS)
    console.print(f"wrote {json_path} and {html_path}: {filled} of {len(fields)} items filled from records")
