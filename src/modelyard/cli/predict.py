"""``modelyard predict``: batch inference over a Parquet or CSV file, in bounded chunks.

The model is resolved through the registry (``models:/fraud@champion``, ``models:/fraud/3``,
``runs:/<id>/model``), then the input is scored chunk by chunk (see ``modelyard.serving.batch``)
with a progress bar on stderr; the output file appears only when every chunk succeeded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from modelyard.cli._backend import backend
from modelyard.cli._output import console, err_console
from modelyard.errors import InvalidInput
from modelyard.serving.batch import DEFAULT_CHUNK_SIZE, count_rows, file_format, predict_file
from modelyard.serving.batch_ray import predict_file_ray


def predict(
    model_uri: Annotated[str, typer.Argument(help="models:/<name>/<version>, models:/<name>@<alias> or runs:/...")],
    input: Annotated[Path, typer.Option("--input", "-i", help="Input file (.parquet or .csv), or a folder of them.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.parquet or .csv).")],
    chunk_size: Annotated[int, typer.Option(help="Rows scored at a time (bounds memory).")] = DEFAULT_CHUNK_SIZE,
    proba: Annotated[bool, typer.Option("--proba", help="Add class probabilities (proba_<i>).")] = False,
    executor: Annotated[str, typer.Option(help="local (this process) or ray (Ray Data actors).")] = "local",
    workers: Annotated[int, typer.Option(help="Ray actors scoring in parallel (--executor ray).")] = 2,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to use (default: MODELYARD_RAY_ADDRESS, else a local instance).")
    ] = None,
    trust: Annotated[
        bool, typer.Option("--trust", help="Load a model directory this store never recorded (unpickling runs code).")
    ] = False,
) -> None:
    """Score INPUT with MODEL_URI into OUTPUT: the input columns plus the predictions."""
    if executor not in ("local", "ray"):
        raise InvalidInput(f"--executor must be 'local' or 'ray', got {executor!r}")
    if chunk_size < 1:
        raise InvalidInput(f"--chunk-size must be at least 1, got {chunk_size}")
    file_format(input)
    file_format(output)
    services = backend()
    predictor = services.model_resolver.load(model_uri, trusted=trust)
    total = count_rows(input)
    columns = [TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task("rows", total=total)
        advance = lambda rows: progress.advance(task, rows)  # noqa: E731
        if executor == "ray":
            result = predict_file_ray(
                predictor,
                input,
                output,
                chunk_size=chunk_size,
                proba=proba,
                workers=workers,
                address=ray_address or services.settings.ray_address,
                on_chunk=advance,
            )
        else:
            result = predict_file(predictor, input, output, chunk_size=chunk_size, proba=proba, on_chunk=advance)
    console.print(f"wrote {result.rows} rows in {result.chunks} chunk(s) to {result.output}")
