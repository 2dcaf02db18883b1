"""``modelyard alerts``: list, acknowledge and resolve the alerts monitors fired."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, fmt_time, print_json
from modelyard.monitoring import AlertService

app = typer.Typer(help="List, acknowledge and resolve monitoring alerts.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _service() -> AlertService:
    b = backend()
    return AlertService(b.db, actor=b.settings.user)


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="open, acknowledged or resolved.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved alerts.")] = False,
    deployment: Annotated[str | None, typer.Option(help="Only this deployment's alerts.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List active alerts (open or acknowledged), newest first."""
    found = _service().list(status=status, active=not all_ and status is None, deployment=deployment)
    if as_json:
        print_json(found)
        return
    table = Table(title="Alerts")
    for column in ("id", "status", "deployment", "rule", "value", "window end", "opened", "action"):
        table.add_column(column)
    for a in found:
        action = "-" if a.action_result is None else str(a.action_result.get("pipeline_run_id", a.action_result))
        table.add_row(
            a.id,
            a.status.value,
            a.deployment,
            a.expression,
            f"{a.value:.4g}",
            fmt_time(a.window_end_ms),
            fmt_time(a.opened_ms),
            action,
        )
    console.print(table)


@app.command("ack")
def ack(alert_id: Annotated[str, typer.Argument(help="The alert id.")]) -> None:
    """Acknowledge an open alert: it stays active, and its rule does not fire again, until resolved."""
    alert = _service().acknowledge(alert_id)
    console.print(f"alert {alert.id} acknowledged")


@app.command("resolve")
def resolve(alert_id: Annotated[str, typer.Argument(help="The alert id.")]) -> None:
    """Resolve an alert; its rule may fire again on a later streak of windows."""
    alert = _service().resolve(alert_id)
    console.print(f"alert {alert.id} resolved")
