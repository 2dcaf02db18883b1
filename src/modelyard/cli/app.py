"""The root of the ``modelyard`` command and the one place CLI errors are translated.

A ``ModelyardError`` becomes one red line on stderr and its class's exit code; anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

import typer
import typer.main
from rich.markup import escape

# typer >= 0.26 vendors click as ``typer._click`` and its public API names neither the Context and
# Command its group methods take and return nor the ClickException carrying ``show()``; these are
# the classes typer.core itself uses, so the overrides below match TyperGroup's signatures.
from typer import _click
from typer.core import TyperCommand, TyperGroup, TyperOption

from modelyard import __version__
from modelyard.cli._output import err_console
from modelyard.errors import ApprovalPending, ModelyardError

# Command name -> (module, attribute, summary): a Typer group or a function, and the one line
# `modelyard --help` shows for it. Each command's module is imported only when that command runs,
# so `modelyard runs list` does not pay for scipy, pandera or plotly, and `--help` imports none of
# them (tests/cli/test_app.py checks each summary against the command's own help): start-up is
# most of a CLI call's time.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "experiments": ("modelyard.cli.experiments", "app", "Manage experiments."),
    "runs": ("modelyard.cli.runs", "app", "Inspect and manage runs."),
    "models": (
        "modelyard.cli.models",
        "app",
        "Manage the model registry: registered models, versions, aliases, stages.",
    ),
    "datasets": ("modelyard.cli.datasets", "app", "Browse, inspect and compare dataset versions."),
    "features": ("modelyard.cli.features", "app", "Define, apply and serve features (the feature store)."),
    "lineage": (
        "modelyard.cli.lineage",
        "lineage",
        "Show the upstream and downstream lineage of a run, model version or dataset version.",
    ),
    "pipelines": ("modelyard.cli.pipelines", "app", "Run, resume and inspect pipelines."),
    "gate": ("modelyard.cli.pipelines", "gate", "Show a model version's gate verdict; exit 1 when it is not blessed."),
    "scheduler": (
        "modelyard.cli.pipelines",
        "scheduler",
        "Run the pipelines whose schedule is due (several schedulers may run; each firing happens once).",
    ),
    "ci": ("modelyard.cli.ci", "app", "Continuous integration: validate, train and gate models on pull requests."),
    "deployments": ("modelyard.cli.deployments", "app", "Deploy model versions and change their traffic."),
    "serve": (
        "modelyard.cli.serve",
        "serve",
        "Serve deployments over OIP v2, /invocations and /v1/deployments/{name}/predict.",
    ),
    "server": (
        "modelyard.cli.server",
        "server",
        "Serve the REST API over the configured store (MODELYARD_STORE_URI, MODELYARD_ARTIFACT_URI).",
    ),
    "predict": (
        "modelyard.cli.predict",
        "predict",
        "Score INPUT with MODEL_URI into OUTPUT: the input columns plus the predictions.",
    ),
    "feedback": ("modelyard.cli.feedback", "app", "Record late ground-truth labels for served requests."),
    "monitor": (
        "modelyard.cli.monitor",
        "app",
        "Watch deployments for drift, performance and latency; alert and report.",
    ),
    "alerts": ("modelyard.cli.alerts", "app", "List, acknowledge and resolve monitoring alerts."),
    "approvals": ("modelyard.cli.approvals", "app", "Four-eyes approvals of protected registry changes."),
    "audit": ("modelyard.cli.audit", "app", "The tamper-evident audit trail: verify, export, list."),
    "users": ("modelyard.cli.users", "app", "Users and their roles (viewer < contributor < approver < admin)."),
    "tokens": ("modelyard.cli.users", "tokens_app", "API tokens: shown once, stored hashed, expiring, revocable."),
    "compliance": ("modelyard.cli.compliance", "app", "Technical documentation from the platform's records."),
    "db": ("modelyard.cli.db", "app", "Manage the metadata store's schema."),
    "explain": (
        "modelyard.cli.explain",
        "explain",
        "Explain MODEL_URI on --data with SHAP and record it with the model version.",
    ),
    "import": ("modelyard.cli.imports", "app", "Import from other tools (MLflow)."),
    "ui": (
        "modelyard.cli.ui",
        "ui",
        "Serve the web UI of the embedded store on http://127.0.0.1:PORT (no login: this machine only).",
    ),
}


_option_type = TyperOption.display_type_rich


def _flag_without_type(self: TyperOption, ctx: _click.Context) -> str | None:
    """A flag takes no value, so its help line shows no type (typer prints ``<bool>``)."""
    return None if self.is_flag else _option_type(self, ctx)


TyperOption.display_type_rich = _flag_without_type  # type: ignore[method-assign]


def _root() -> None:
    """Track, version, register, automate, deploy, monitor and govern ML models."""


class _LazyGroup(TyperGroup):
    """The root group: built-in commands plus the ones in ``_COMMANDS``, loaded on first use."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        # The command list needs only each command's summary: stand-ins carry it, unimported.
        self._summaries_only = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._summaries_only = False

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in _COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attribute, summary = _COMMANDS[cmd_name]
        if getattr(self, "_summaries_only", False):
            return TyperCommand(cmd_name, help=summary, short_help=summary)
        target = getattr(importlib.import_module(module), attribute)
        holder = typer.Typer(add_completion=False)
        holder.callback()(_root)  # a callback keeps a one-command app a group
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=cmd_name)
        else:
            holder.command(cmd_name)(target)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)  # the callback makes it a group
        return group.commands[cmd_name]


app = typer.Typer(
    name="modelyard",
    cls=_LazyGroup,
    help="Track, version, register, automate, deploy, monitor and govern ML models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.callback()(_root)


@app.command()
def version() -> None:
    """Print the modelyard version."""
    typer.echo(f"modelyard {__version__}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``modelyard`` script.

    Every failure ends as one line on stderr and the exit code the README's CLI section lists: a
    ``ModelyardError`` its class's code, a usage mistake (unknown command or option, missing or
    malformed argument) 2. A group given no subcommand prints its help and exits 0.
    """
    try:
        app(args=argv, standalone_mode=False)
    except ApprovalPending as exc:  # a result, not an error: say what happens next, on stdout
        typer.echo(exc.message)
        sys.exit(exc.exit_code)
    except ModelyardError as exc:
        _fail(exc.message, exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except _click.exceptions.NoArgsIsHelpError:
        sys.exit(0)  # rich has printed the group's help already
    except _click.exceptions.UsageError as exc:
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        _fail(exc.format_message().rstrip(".") + where, exc.exit_code)
    except typer.TyperException as exc:
        _fail(exc.format_message(), exc.exit_code)


def _fail(message: str, exit_code: int) -> NoReturn:
    """One red ``error:`` line on stderr (whatever the message holds: newlines become spaces), then exit."""
    line = " ".join(message.split())
    err_console.print(f"[red]error:[/red] {escape(line)}", markup=True, soft_wrap=True)
    sys.exit(exit_code)
