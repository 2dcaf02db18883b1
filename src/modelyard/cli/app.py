"""The root of the ``modelyard`` command and the one place CLI errors are translated.

A ``ModelyardError`` becomes one red line on stderr and its class's exit code; anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import version as dist_version

import typer
import typer.main
from rich.markup import escape

# typer >= 0.26 vendors click as ``typer._click`` and its public API names neither the Context and
# Command its group methods take and return nor the ClickException carrying ``show()``; these are
# the classes typer.core itself uses, so the overrides below match TyperGroup's signatures.
from typer import _click
from typer.core import TyperGroup

from modelyard.cli._output import err_console
from modelyard.errors import ModelyardError

# Command name -> (module, attribute): a Typer group or a function. Each command's module is
# imported only when that command runs, so `modelyard runs list` does not pay for scipy, pandera
# or plotly (monitoring, pipelines and reports need them): start-up is most of a CLI call's time.
_COMMANDS: dict[str, tuple[str, str]] = {
    "experiments": ("modelyard.cli.experiments", "app"),
    "runs": ("modelyard.cli.runs", "app"),
    "models": ("modelyard.cli.models", "app"),
    "datasets": ("modelyard.cli.datasets", "app"),
    "lineage": ("modelyard.cli.lineage", "lineage"),
    "pipelines": ("modelyard.cli.pipelines", "app"),
    "gate": ("modelyard.cli.pipelines", "gate"),
    "scheduler": ("modelyard.cli.pipelines", "scheduler"),
    "ci": ("modelyard.cli.ci", "app"),
    "deployments": ("modelyard.cli.deployments", "app"),
    "serve": ("modelyard.cli.serve", "serve"),
    "predict": ("modelyard.cli.predict", "predict"),
    "explain": ("modelyard.cli.explain", "explain"),
    "feedback": ("modelyard.cli.feedback", "app"),
    "monitor": ("modelyard.cli.monitor", "app"),
    "alerts": ("modelyard.cli.alerts", "app"),
    "approvals": ("modelyard.cli.approvals", "app"),
    "audit": ("modelyard.cli.audit", "app"),
    "users": ("modelyard.cli.users", "app"),
    "tokens": ("modelyard.cli.users", "tokens_app"),
    "compliance": ("modelyard.cli.compliance", "app"),
    "db": ("modelyard.cli.db", "app"),
}


def _root() -> None:
    """Track, version, register, automate, deploy, monitor and govern ML models."""


class _LazyGroup(TyperGroup):
    """The root group: built-in commands plus the ones in ``_COMMANDS``, loaded on first use."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in _COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attribute = _COMMANDS[cmd_name]
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
    typer.echo(f"modelyard {dist_version('modelyard')}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``modelyard`` script."""
    try:
        app(args=argv, standalone_mode=False)
    except ModelyardError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", markup=True, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:
        if isinstance(exc, _click.ClickException):  # usage errors: usage line, hint and message
            exc.show()
        else:
            err_console.print(f"[red]error:[/red] {escape(exc.format_message())}", markup=True, soft_wrap=True)
        sys.exit(exc.exit_code)
