"""``modelyard monitor``: create monitors, run them (once or following the log), report, export.

This is also where an alert rule's ``run_pipeline`` action is wired: pipelines sit above the SDK,
so the monitoring service gets the runner from here (``pipeline_action``).
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, fmt_time, fmt_value, print_json
from modelyard.domain.monitoring import MonitorResult
from modelyard.errors import InvalidInput
from modelyard.monitoring import MonitorService, parse_duration, registry_for
from modelyard.monitoring.monitors import OpenWindow
from modelyard.pipelines.actions import pipeline_action
from modelyard.sdk.monitoring import monitoring, write_monitor_report

app = typer.Typer(help="Watch deployments for drift, performance and latency; alert and report.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _service(ray_address: str | None = None) -> MonitorService:
    return monitoring(backend(), action_runner=pipeline_action, ray_address=ray_address)


@app.command("create")
def create(
    deployment: Annotated[str, typer.Argument(help="The deployment to watch.")],
    reference: Annotated[str, typer.Option("--reference", help="The reference: datasets:/name@digest.")],
    window: Annotated[str | None, typer.Option("--window", help="Time window, e.g. 15m, 1h, 1d.")] = None,
    every: Annotated[int | None, typer.Option("--every", help="Window of this many logged rows.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Monitor name (default: the deployment's).")] = None,
    target: Annotated[str | None, typer.Option(help="Reference column the predictions are compared with.")] = None,
    task: Annotated[str, typer.Option(help="auto, classification or regression.")] = "auto",
    threshold: Annotated[
        list[str] | None, typer.Option("--threshold", help="A drift threshold, key=value (e.g. psi_significant=0.2).")
    ] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="A YAML file of alert rules for this monitor.")] = None,
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="models:/name/N whose SHAP attribution shares are compared per window."),
    ] = None,
) -> None:
    """Create a monitor of DEPLOYMENT against a reference dataset version."""
    service = _service()
    monitor = service.create(
        name or deployment,
        deployment,
        reference,
        window_ms=parse_duration(window) if window else None,
        every_rows=every,
        target=target,
        task=task,
        thresholds=_thresholds(threshold or []),
        explain_model=explain,
    )
    if rules is not None:
        service.alerts.load_rules(rules, monitor=monitor.name)
    console.print(f"created monitor {monitor.name} on {deployment}")


@app.command("rules")
def rules_(
    monitor: Annotated[str, typer.Argument(help="The monitor.")],
    load: Annotated[Path | None, typer.Option("--load", help="Add the rules of this YAML file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the alert rules of MONITOR (after adding those of --load)."""
    service = _service()
    service.get(monitor)
    if load is not None:
        service.alerts.load_rules(load, monitor=monitor)
    found = service.alerts.rules(monitor)
    if as_json:
        print_json(found)
        return
    table = Table(title=f"Alert rules of {monitor}")
    for column in ("name", "when", "webhooks", "action"):
        table.add_column(column)
    for r in found:
        table.add_row(r.name, r.expression, str(len(r.webhooks)), json.dumps(r.action) if r.action else "-")
    console.print(table)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List monitors."""
    found = _service().list()
    if as_json:
        print_json(found)
        return
    table = Table(title="Monitors")
    for column in ("name", "deployment", "reference", "window", "next window from"):
        table.add_column(column)
    for m in found:
        window = f"{m.window_ms // 1000}s" if m.window_ms else f"{m.every_rows} rows"
        table.add_row(m.name, m.deployment, m.reference, window, fmt_time(m.cursor_ms))
    console.print(table)


@app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="The monitor.")],
    follow: Annotated[bool, typer.Option("--follow", help="Keep running until interrupted.")] = False,
    interval: Annotated[str, typer.Option(help="With --follow: time between runs.")] = "30s",
    executor: Annotated[
        str, typer.Option(help="local, or ray: each window's Parquet segments read by parallel Ray tasks.")
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="With --executor ray: the cluster (default: a local one).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Process every finished window of monitor NAME (with --follow: keep doing so until Ctrl-C)."""
    if executor not in ("local", "ray"):
        raise InvalidInput(f"--executor is local or ray, got {executor!r}")
    service = _service(ray_address)
    if not follow:
        found = service.run(name, executor=executor)
        _show(found, as_json, latest=LATEST_WINDOWS, name=name)
        if not found and not as_json:
            console.print(_waiting(service.open_window(name), service.get(name).deployment))
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"following monitor {name}; Ctrl-C stops")
    service.follow(
        name,
        interval_s=parse_duration(interval) / 1000,
        stop=stop,
        on_results=lambda r: _show(r, as_json, latest=LATEST_WINDOWS, name=name),
        executor=executor,
    )


@app.command("results")
def results(
    name: Annotated[str, typer.Argument(help="The monitor.")],
    limit: Annotated[int, typer.Option(help="Newest windows to show.")] = 24,
    as_json: JsonOpt = False,
) -> None:
    """Show the stored windows of monitor NAME, oldest first."""
    _show(_service().results(name, limit=limit, detail=as_json), as_json)


@app.command("report")
def report(
    deployment: Annotated[str, typer.Argument(help="The deployment.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the HTML.")] = Path("report.html"),
) -> None:
    """Write a self-contained HTML report of DEPLOYMENT's monitors and open alerts."""
    path = write_monitor_report(backend(), deployment, out)
    console.print(f"wrote {path}")


@app.command("exporter")
def exporter(
    port: Annotated[int, typer.Option(help="Port of the /metrics endpoint.")] = 9464,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Serve monitor results as Prometheus gauges on http://HOST:PORT/metrics until interrupted."""
    from prometheus_client import start_http_server

    server, thread = start_http_server(port, addr=host, registry=registry_for(backend().db))
    console.print(f"serving monitor metrics on http://{host}:{server.server_port}/metrics; Ctrl-C stops")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    thread.join()


# error_rate is the server's failures (5xx), invalid_rate the callers' refused requests (4xx): both
# shown, as a window with bad input from callers is not one where the model failed.
_SHOWN = ("rows", "share_drifted", "accuracy", "f1", "roc_auc", "rmse", "p95_latency_ms", "error_rate", "invalid_rate")


LATEST_WINDOWS = 10  # a run over a long log (row windows) closes hundreds: show these and a summary


def _waiting(window: OpenWindow, deployment: str) -> str:
    """What a run that closed no window is waiting for."""
    if window.start_ms is None:
        return f"no window closed: deployment {deployment} has logged no request since the last window"
    if window.end_ms is not None:
        return (
            f"no window closed yet: the current one ({fmt_time(window.start_ms)} → {fmt_time(window.end_ms)}) "
            f"closes at {fmt_time(window.end_ms)}, {window.rows} row(s) so far; run again after that"
        )
    return (
        f"no window closed yet: about {window.rows} of the {window.every_rows} rows a window needs are logged "
        f"(since {fmt_time(window.start_ms)})"
    )


def _show(found: list[MonitorResult], as_json: bool, *, latest: int | None = None, name: str = "NAME") -> None:
    if as_json:
        print_json(found)
        return
    everything = found
    if latest is not None and len(found) > latest:
        found = found[-latest:]
    title = (
        f"{len(everything)} window(s)"
        if found is everything
        else f"the newest {len(found)} of {len(everything)} windows"
    )
    table = Table(title=title)
    table.add_column("window")
    table.add_column("drifted")
    for key in _SHOWN:
        table.add_column(key)
    for r in found:
        drifted = sorted(k.split(":", 1)[1] for k, v in r.metrics.items() if k.startswith("drifted:") and v >= 1)
        cells = [fmt_value(r.metrics[k]) if k in r.metrics else "-" for k in _SHOWN]
        table.add_row(f"{fmt_time(r.start_ms)} → {fmt_time(r.end_ms)}", ", ".join(drifted) or "-", *cells)
    console.print(table)
    if found is not everything:
        drifted_windows = sum(1 for r in everything if r.metrics.get("dataset_drifted", 0.0) >= 1)
        rows = sum(int(r.metrics.get("rows", 0)) for r in everything)
        console.print(
            f"{len(everything)} windows, {rows} rows, {drifted_windows} with dataset drift; "
            f"`modelyard monitor results {name} --limit N` shows more"
        )


def _thresholds(values: list[str]) -> dict[str, Any]:
    """``key=value`` pairs as DriftThresholds fields (the service names an unknown key)."""
    casts: dict[str, type] = {"correction": str, "min_samples": int}
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = (part.strip() for part in item.partition("="))
        if not sep or not key:
            raise InvalidInput(f"--threshold takes key=value, got {item!r}")
        try:
            out[key] = casts.get(key, float)(raw)
        except ValueError:
            raise InvalidInput(f"--threshold {key}: {raw!r} is not a number") from None
    return out
