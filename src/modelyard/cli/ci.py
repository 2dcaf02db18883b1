"""``modelyard ci``: write the CI files that validate, train and gate on pull requests.

``init`` writes ``ci/modelyard-ci.sh`` (any CI system) and, with ``--github``, a GitHub Actions
workflow; ``candidate`` prints the model URI the latest run of a pipeline gated, for those files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli._backend import backend
from modelyard.cli._output import console
from modelyard.config import Settings
from modelyard.pipelines.ci import CiPlan, default_install, gate_candidate, write_ci_files
from modelyard.sdk.client import Client

app = typer.Typer(
    help="Continuous integration: validate, train and gate models on pull requests.", no_args_is_help=True
)


@app.command("init")
def init(
    pipeline: Annotated[
        str, typer.Option(help="The training pipeline (module:attribute), ending with the built-in gate step.")
    ],
    validation: Annotated[
        str | None, typer.Option(help="A pipeline that only validates the data, run before training.")
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="A training parameter, key=value.")] = None,
    github: Annotated[bool, typer.Option("--github", help="Also write .github/workflows/modelyard.yml.")] = False,
    python: Annotated[str, typer.Option(help="Python version of the GitHub job.")] = "3.11",
    install: Annotated[
        str | None,
        typer.Option(
            help="The install command (default: modelyard's wheel in ci/wheels/ and the project's requirements)."
        ),
    ] = None,
    directory: Annotated[Path, typer.Option("--dir", help="The repository root.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write ci/modelyard-ci.sh and, with --github, a GitHub Actions workflow.

    Without --install, the job installs modelyard from a wheel written into ci/wheels/ (commit it:
    no package index holds modelyard) with the project's requirements."""
    wheel = None
    if install is None:
        install, wheel = default_install(directory)
    plan = CiPlan(
        pipeline=pipeline,
        validation=validation,
        params=tuple(param or []),
        python_version=python,
        install=install,
        wheel=wheel,
        dependency_file=next((f for f in ("requirements.txt", "pyproject.toml") if (directory / f).is_file()), None),
    )
    for path in write_ci_files(directory, plan, github=github, force=force):
        console.print(f"wrote {path}")


@app.command("candidate")
def candidate(target: Annotated[str, typer.Argument(help="The training pipeline, module:attribute.")]) -> None:
    """Print the model URI the gate step of the pipeline's latest run judged (for `modelyard gate`)."""
    backend()  # the store must exist: Client alone would create an empty one
    typer.echo(gate_candidate(Client(Settings.from_env()), target))
