"""The root of the ``modelyard`` command and the one place CLI errors are translated.

A ``ModelyardError`` becomes one red line on stderr and its class's exit code; anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from importlib.metadata import version as dist_version

import click
import typer

from modelyard.cli import (
    alerts,
    approvals,
    audit,
    ci,
    compliance,
    datasets,
    db,
    deployments,
    experiments,
    feedback,
    lineage,
    models,
    monitor,
    pipelines,
    predict,
    runs,
    serve,
    users,
)
from modelyard.cli._output import err_console
from modelyard.errors import ModelyardError

app = typer.Typer(
    name="modelyard",
    help="Track, version, register, automate, deploy, monitor and govern ML models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(models.app, name="models")
app.add_typer(audit.app, name="audit")
app.add_typer(approvals.app, name="approvals")
app.add_typer(users.app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(compliance.app, name="compliance")
app.add_typer(db.app, name="db")
app.add_typer(datasets.app, name="datasets")
app.command("lineage")(lineage.lineage)
app.add_typer(pipelines.app, name="pipelines")
app.command("gate")(pipelines.gate)
app.command("scheduler")(pipelines.scheduler)
app.add_typer(ci.app, name="ci")
app.add_typer(deployments.app, name="deployments")
app.command("serve")(serve.serve)
app.command("predict")(predict.predict)
app.add_typer(feedback.app, name="feedback")
app.add_typer(monitor.app, name="monitor")
app.add_typer(alerts.app, name="alerts")


@app.command()
def version() -> None:
    """Print the modelyard version."""
    typer.echo(f"modelyard {dist_version('modelyard')}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``modelyard`` script."""
    try:
        app(args=argv, standalone_mode=False)
    except ModelyardError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", markup=True, soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
