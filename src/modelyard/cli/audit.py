"""``modelyard audit``: verify the hash chain, export it as JSON lines, list events."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, fmt_time, print_json
from modelyard.errors import Conflict, InvalidInput

app = typer.Typer(help="The tamper-evident audit trail: verify, export, list.", no_args_is_help=True)

SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Only events at or after this ISO date/time (UTC if no zone).")
]


def _since_ms(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"--since {value!r} is not an ISO date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


@app.command()
def verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Recompute the chain and check it against its checkpoints in the artifact store; exit 6 naming
    the first break: a row altered, removed or reordered, the end cut off, events appended outside
    modelyard, or the chain rewritten from some event on."""
    result = backend().audit.verify()
    if as_json:
        print_json(result)
    if result.first_break is not None:
        raise Conflict(f"audit trail broken at event {result.first_break.seq}: {result.first_break.reason}")
    if not as_json:
        console.print(
            f"audit trail intact: {result.events} events, head #{result.head_seq} {result.head_hash}, "
            "matching its checkpoints"
        )


@app.command()
def anchor() -> None:
    """Checkpoint the chain's current head (admin), after checking it link by link: for events that
    predate checkpoints, once you have made sure they are genuine."""
    result = backend().audit.anchor_head()
    console.print(f"audit trail anchored at event #{result.head_seq} {result.head_hash}")


@app.command()
def export(
    since: SinceOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="Only jsonl.")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """Export events (with their hashes) as JSON lines."""
    if fmt != "jsonl":
        raise InvalidInput(f"unknown export format {fmt!r}; only jsonl is supported")
    service = backend().audit
    if out is None:
        service.export_jsonl(sys.stdout, since_ms=_since_ms(since))
        return
    with out.open("w", encoding="utf-8") as handle:
        count = service.export_jsonl(handle, since_ms=_since_ms(since))
    console.print(f"wrote {count} events to {out}")


@app.command("list")
def list_(
    object_id: Annotated[str | None, typer.Option("--object", help="e.g. churn/3, a run id, a user name.")] = None,
    actor: Annotated[str | None, typer.Option("--actor")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. model_version.stage_changed")] = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option("--limit")] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search events by object and/or actor, oldest first."""
    events = backend().audit.search(
        object_id=object_id, actor=actor, action=action, since_ms=_since_ms(since), limit=limit
    )
    if as_json:
        print_json(events)
        return
    table = Table(title="Audit events")
    for column in ("seq", "time", "actor", "action", "object", "details"):
        table.add_column(column)
    for e in events:
        details = ", ".join(f"{k}={v}" for k, v in sorted(e.details.items()))
        table.add_row(str(e.seq), fmt_time(e.time_ms), e.actor, e.action, f"{e.object_kind}:{e.object_id}", details)
    console.print(table)
