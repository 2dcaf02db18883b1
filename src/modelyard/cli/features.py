"""``modelyard features``: apply definitions (plan first), list and show them, materialize."""

from __future__ import annotations

import json
import signal
from typing import Annotated, Any

import typer
from prometheus_client import start_http_server
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, fmt_time, print_json
from modelyard.domain.features import ApplyPlan, ChangeKind, DefinitionKind, RegisteredDefinition
from modelyard.errors import InvalidInput
from modelyard.features import FeatureStore
from modelyard.features.definitions import collect, import_module
from modelyard.sdk.features import open_feature_store

app = typer.Typer(help="Define, apply and serve features (the feature store).", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
_MARK = {
    ChangeKind.ADDED: "[green]+[/green]",
    ChangeKind.CHANGED: "[yellow]~[/yellow]",
    ChangeKind.REMOVED: "[red]-[/red]",
}


def _store(*, create: bool = False) -> FeatureStore:
    """The feature store over the environment's store; only commands that write may create one."""
    return open_feature_store(backend(create=create))


def _plan_body(plan: ApplyPlan) -> dict[str, Any]:
    return {
        k.value: [{"kind": c.kind.value, "name": c.name, "fields": list(c.fields)} for c in plan.of(k)]
        for k in ChangeKind
        if k is not ChangeKind.UNCHANGED
    }


def _print_plan(plan: ApplyPlan, applied: bool) -> None:
    if plan.is_empty:
        console.print("No changes: the registered definitions match.")
        return
    for change in plan.changes:
        if change.change is ChangeKind.UNCHANGED:
            continue
        detail = f" ({', '.join(change.fields)})" if change.fields else ""
        console.print(f"  {_MARK[change.change]} {change.kind.value} {change.name}{detail}")
    counts = ", ".join(
        f"{len(plan.of(k))} {k.value}" for k in (ChangeKind.ADDED, ChangeKind.CHANGED, ChangeKind.REMOVED)
    )
    console.print(f"{'Applied' if applied else 'Plan'}: {counts}.")


@app.command()
def apply(
    module: Annotated[str, typer.Argument(help="A module name (pkg.features) or a .py file defining features.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan, change nothing.")] = False,
    prune: Annotated[
        bool, typer.Option("--prune/--no-prune", help="Remove registered definitions MODULE no longer defines.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Show what MODULE's definitions add, change and remove, then register them."""
    found = collect(import_module(module))  # a module that does not import creates no store
    store = _store(create=True)
    plan = store.plan(found, prune=prune) if dry_run else store.apply(found, prune=prune)
    if as_json:
        print_json({"applied": not dry_run, **_plan_body(plan)})
        return
    _print_plan(plan, applied=not dry_run)


def _summary(d: RegisteredDefinition) -> str:
    spec = d.spec
    if d.kind is DefinitionKind.ENTITY:
        return "join keys: " + ", ".join(spec["join_keys"])
    if d.kind is DefinitionKind.FEATURE_VIEW:
        names = [f["name"] for f in spec["features"]] + [a["name"] for a in spec["aggregations"]]
        ttl = "-" if spec["ttl_s"] is None else f"{spec['ttl_s']:g}s"
        return f"entity {spec['entity']} · {spec['source']['type']} · ttl {ttl} · {', '.join(names)}"
    return "computes " + ", ".join(f["name"] for f in spec["features"])


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List the registered entities, feature views and on-demand views."""
    found = _store().list()
    if as_json:
        print_json([{"kind": d.kind.value, "name": d.name, "version": d.version, "digest": d.digest} for d in found])
        return
    table = Table(title="Feature definitions")
    for column in ("kind", "name", "version", "what", "applied", "by"):
        table.add_column(column)
    for d in found:
        table.add_row(d.kind.value, d.name, str(d.version), _summary(d), fmt_time(d.created_at), d.created_by)
    console.print(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="An entity, feature view or on-demand view.")],
    as_json: JsonOpt = False,
) -> None:
    """Show a definition's current spec and its version history."""
    store = _store()
    current = store.get(name)
    history = store.registry.history(name, current.kind)
    if as_json:
        print_json(
            {
                "kind": current.kind.value,
                "name": current.name,
                "version": current.version,
                "spec": current.spec,
                "history": [
                    {"version": h.version, "digest": h.digest, "removed": h.removed, "created_at": h.created_at}
                    for h in history
                ],
            }
        )
        return
    console.print(f"[bold]{current.kind.value} {current.name}[/bold] v{current.version} · {_summary(current)}")
    console.print(json.dumps(current.spec, indent=2, sort_keys=True), markup=False)
    table = Table(title="Versions")
    for column in ("version", "digest", "applied", "by", "removed"):
        table.add_column(column)
    for h in history:
        table.add_row(str(h.version), h.digest[:12], fmt_time(h.created_at), h.created_by, "yes" if h.removed else "")
    console.print(table)


@app.command()
def materialize(
    start: Annotated[str, typer.Argument(help="Start time (ISO 8601, UTC unless it says otherwise).")],
    end: Annotated[str, typer.Argument(help="End time, exclusive.")],
    view: Annotated[list[str] | None, typer.Option("--view", help="Only this feature view (repeatable).")] = None,
) -> None:
    """Load the latest feature values stamped in [START, END) into the online store."""
    with console.status("materializing"):
        results = _store().materialize(start, end, view or None)
    for r in results:
        console.print(f"{r.view}: {r.rows} entities, {r.events} window events")


@app.command("materialize-incremental")
def materialize_incremental(
    end: Annotated[str | None, typer.Argument(help="End time (default: now).")] = None,
    view: Annotated[list[str] | None, typer.Option("--view", help="Only this feature view (repeatable).")] = None,
) -> None:
    """Load what arrived since each view's last materialization, up to END."""
    with console.status("materializing"):
        results = _store().materialize_incremental(end, view or None)
    for r in results:
        console.print(f"{r.view}: {r.rows} entities, {r.events} window events (up to {fmt_time(r.end_ms)})")


@app.command()
def consume(
    stream: Annotated[str, typer.Argument(help="The Redis stream to read.")],
    source: Annotated[str, typer.Option("--source", help="The push source its entries are rows of.")],
    redis_url: Annotated[
        str | None, typer.Option("--redis-url", help="Redis holding the stream (default: the online store's Redis).")
    ] = None,
    group: Annotated[
        str, typer.Option("--group", help="Consumer group shared by every consumer.")
    ] = "modelyard-features",
    consumer: Annotated[str | None, typer.Option("--consumer", help="This consumer's name (default host-pid).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 500,
    claim_idle_ms: Annotated[
        int, typer.Option("--claim-idle-ms", help="Take over entries another consumer left pending this long.")
    ] = 30_000,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Serve Prometheus metrics (lag, pending) on this port.")
    ] = None,
) -> None:
    """Keep the online store current from a Redis stream, until interrupted."""
    from modelyard.features.stream import StreamConsumer  # the redis client is an optional dependency

    store = _store()
    url = redis_url or backend().settings.online_store_uri.split("?", 1)[0]
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise InvalidInput("give --redis-url: the online store is not on Redis")
    reader = StreamConsumer(
        store,
        url,
        stream=stream,
        source=source,
        group=group,
        consumer=consumer,
        batch_size=batch_size,
        claim_idle_ms=claim_idle_ms,
    )
    if metrics_port is not None:
        start_http_server(metrics_port, addr="127.0.0.1", registry=reader.metrics.registry)
    signal.signal(signal.SIGTERM, lambda *_: reader.stop())
    console.print(f"consuming {stream} as {reader.consumer} in group {group}", style="dim")
    try:
        applied = reader.run()
    except KeyboardInterrupt:
        applied = 0
    finally:
        reader.close()
    console.print(f"stopped after {applied} entries")
