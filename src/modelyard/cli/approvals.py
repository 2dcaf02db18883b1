"""``modelyard approvals``: list requests, approve or reject one, set a model's approval policy."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, fmt_time, print_json
from modelyard.domain.governance import ApprovalPolicy, ApprovalRequest

app = typer.Typer(help="Four-eyes approvals of protected registry changes.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
CommentOpt = Annotated[str, typer.Option("--comment", "-m", help="Why; kept in the audit trail.")]


def _show(request: ApprovalRequest, as_json: bool) -> None:
    if as_json:
        print_json(request)
    else:
        console.print(f"approval #{request.id} ({request.kind.value} {request.object_id} {request.target}) "
                      f"is {request.status.value}")  # fmt: skip


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option("--status", help="pending, approved, rejected, applied")] = None,
    model: Annotated[str | None, typer.Option("--model")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Approval requests, oldest first."""
    requests = backend().approvals.list(status=status, model_name=model)
    if as_json:
        print_json(requests)
        return
    table = Table(title="Approval requests")
    for column in ("id", "kind", "model", "target", "requested by", "reason", "status", "decisions", "created"):
        table.add_column(column)
    for r in requests:
        decisions = "; ".join(f"{d.approver}: {'yes' if d.approved else 'no'}" for d in r.decisions)
        target = ", ".join(f"{k}={v}" for k, v in r.target.items())
        table.add_row(str(r.id), r.kind.value, r.object_id, target, r.requested_by, r.reason, r.status.value,
                      decisions, fmt_time(r.created_ms))  # fmt: skip
    console.print(table)


@app.command()
def approve(request_id: int, comment: CommentOpt = "", as_json: JsonOpt = False) -> None:
    """Approve a request; the change is applied once the policy's approvals are in."""
    _show(backend().approvals.approve(request_id, comment), as_json)


@app.command()
def reject(request_id: int, comment: CommentOpt = "", as_json: JsonOpt = False) -> None:
    """Reject a request; nothing changes."""
    _show(backend().approvals.reject(request_id, comment), as_json)


@app.command()
def policy(
    model: str,
    stages: Annotated[
        list[str] | None, typer.Option("--stage", help="Another stage needing approval (repeat).")
    ] = None,
    aliases: Annotated[list[str] | None, typer.Option("--alias", help="Another protected alias (repeat).")] = None,
    approvers: Annotated[int, typer.Option("--approvers", help="Approvals needed.")] = 1,
    require_blessing: Annotated[bool, typer.Option("--require-gate-blessing")] = False,
    require_card: Annotated[bool, typer.Option("--require-model-card")] = False,
    require_no_alert: Annotated[bool, typer.Option("--require-no-open-alert")] = False,
    protect_deployments: Annotated[
        bool,
        typer.Option("--protect-deployments", help="Serving a version needs a protected stage/alias or an approval."),
    ] = False,
    only: Annotated[
        bool, typer.Option("--only", help="Protect only the --stage/--alias given, not Production and @champion.")
    ] = False,
) -> None:
    """Set MODEL's approval policy (admin). Production and @champion always need approval; --stage and
    --alias add to them (--only replaces them)."""
    defaults = ApprovalPolicy(model_name=model)
    chosen = ApprovalPolicy(
        model_name=model,
        stages=tuple(stages or ()) if only else (*defaults.stages, *(stages or ())),
        protected_aliases=tuple(aliases or ()) if only else (*defaults.protected_aliases, *(aliases or ())),
        required_approvers=approvers,
        require_gate_blessing=require_blessing,
        require_model_card=require_card,
        require_no_open_alert=require_no_alert,
        protect_deployments=protect_deployments,
    )
    saved = backend().approvals.set_policy(chosen)
    protected = [*saved.stages, *(f"@{a}" for a in saved.protected_aliases)]
    console.print(
        f"approval policy of {model!r} set: {', '.join(protected) or 'nothing'} "
        f"need{'s' if len(protected) == 1 else ''} {saved.required_approvers} approver(s)"
    )
