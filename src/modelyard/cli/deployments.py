"""``modelyard deployments``: deploy registered model versions, shift traffic, promote, roll back.

Each command parses its arguments, calls one method of the deployments service and renders the
result as a rich table or, with ``--json``, as JSON. ``status`` adds live figures (requests,
errors, latency, shadow disagreement) read from a running server's ``/metrics`` when ``--url``
reaches one, and otherwise the figures of the last automatic decision recorded in the events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from prometheus_client.parser import text_string_to_metric_families
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, fmt_time, print_json
from modelyard.domain.serving import (
    BatchingSpec,
    CanarySLO,
    Deployment,
    DeploymentEvent,
    EventKind,
    FeatureLookup,
    StickySpec,
    VariantMode,
    VariantSpec,
)
from modelyard.errors import InvalidInput
from modelyard.sdk import champion

app = typer.Typer(help="Deploy model versions and change their traffic.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
BatchSizeOpt = Annotated[
    int | None, typer.Option("--max-batch-size", help="Micro-batching: at most N rows per model call.")
]
BatchWaitOpt = Annotated[
    float | None,
    typer.Option("--max-batch-wait-ms", help="Micro-batching: wait at most M ms for a batch to fill (0-1000)."),
]


def _batching(size: int | None, wait_ms: float | None) -> BatchingSpec | None:
    """The spec both options make; ``None`` when neither is given."""
    if size is None and wait_ms is None:
        return None
    if size is None or wait_ms is None:
        raise InvalidInput("micro-batching needs both --max-batch-size and --max-batch-wait-ms")
    return BatchingSpec(max_batch_size=size, max_wait_ms=wait_ms)


def _batching_line(deployment: Deployment) -> str:
    batching = deployment.batching
    if batching is None:
        return "micro-batching: off"
    return f"micro-batching: up to {batching.max_batch_size} rows, waiting at most {batching.max_wait_ms:g} ms"


def _explain_line(deployment: Deployment) -> str:
    rate = deployment.explain_sample
    if rate <= 0:
        return "attributions logged: off"
    return f"attributions logged: {rate:.4g} of answered requests ({rate * 100:.4g} %)"


def _variants_table(deployment: Deployment) -> Table:
    table = Table(title=f"Deployment {deployment.name} (revision {deployment.revision})")
    for column in ("variant", "mode", "model version", "traffic %", "shadow sample %"):
        table.add_column(column)
    traffic = deployment.traffic()
    for v in deployment.variants:
        share = f"{traffic[v.name]:g}" if v.name in traffic else "-"
        sample = f"{v.sample:g}" if v.mode is VariantMode.SHADOW else "-"
        table.add_row(v.name, v.mode.value, v.model_version, share, sample)
    return table


def _show(deployment: Deployment) -> None:
    console.print(_variants_table(deployment))
    extras = []
    if deployment.sticky is not None:
        extras.append(f"sticky {deployment.sticky.source}: {deployment.sticky.name}")
    if deployment.slo is not None:
        slo = ", ".join(f"{k}={v}" for k, v in deployment.slo.to_dict().items() if v is not None)
        extras.append(f"canary SLO: {slo}")
    if deployment.previous_primary is not None:
        extras.append(f"rollback restores {deployment.previous_primary.model_version}")
    extras.append(_batching_line(deployment))
    extras.append(_explain_line(deployment))
    for line in extras:
        console.print(line)


def _render(deployment: Deployment, as_json: bool, message: str) -> None:
    if as_json:
        print_json(deployment)
    else:
        console.print(message)
        _show(deployment)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List deployments with their traffic split."""
    found = backend().deployments.list()
    if as_json:
        print_json(found)
        return
    table = Table(title="Deployments")
    for column in ("name", "revision", "traffic", "shadows", "updated", "created by"):
        table.add_column(column)
    for d in found:
        by_name = {v.name: v.model_version for v in d.variants}
        traffic = ", ".join(f"{by_name[n]} {share:g}%" for n, share in d.traffic().items())
        shadows = ", ".join(v.model_version for v in d.shadows)
        table.add_row(d.name, str(d.revision), traffic, shadows, fmt_time(d.updated_at), d.created_by)
    console.print(table)


@app.command()
def show(name: str, as_json: JsonOpt = False) -> None:
    """Show one deployment: variants, traffic, sticky key, SLO."""
    deployment = backend().deployments.get(name)
    if as_json:
        print_json(deployment)
    else:
        _show(deployment)


@app.command()
def deploy(
    name: str,
    model: Annotated[str, typer.Argument(help="The primary: models:/<name>/<version> or models:/<name>@<alias>")],
    canary: Annotated[list[str] | None, typer.Option("--canary", help="A canary model URI (repeatable).")] = None,
    weight: Annotated[
        list[float] | None, typer.Option("--weight", help="Traffic % of each --canary, in order.")
    ] = None,
    shadow: Annotated[list[str] | None, typer.Option("--shadow", help="A shadow model URI (repeatable).")] = None,
    shadow_sample: Annotated[float, typer.Option(help="% of requests each shadow gets a copy of.")] = 100.0,
    sticky_header: Annotated[str | None, typer.Option(help="Pin callers by this request header.")] = None,
    sticky_field: Annotated[str | None, typer.Option(help="Pin callers by this input field.")] = None,
    max_error_rate: Annotated[float | None, typer.Option(help="Canary SLO: max error rate (0-1).")] = None,
    max_p95_ms: Annotated[float | None, typer.Option(help="Canary SLO: max p95 latency in ms.")] = None,
    max_disagreement: Annotated[
        float | None, typer.Option(help="Canary SLO: max disagreement with the primary (0-1).")
    ] = None,
    min_requests: Annotated[int, typer.Option(help="Canary SLO: requests needed before judging.")] = 100,
    window: Annotated[float, typer.Option(help="Canary SLO: seconds before a healthy canary is promoted.")] = 300.0,
    max_batch_size: BatchSizeOpt = None,
    max_batch_wait_ms: BatchWaitOpt = None,
    explain_sample: Annotated[
        float | None,
        typer.Option("--explain-sample", help="Log SHAP attributions of this share (0-1) of answered requests."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy (or redeploy) NAME with a primary and optional canaries and shadows.

    A redeploy keeps the deployment's micro-batching and explain sample unless their options are given.
    """
    canaries = canary or []
    weights = weight or []
    if len(weights) > len(canaries):
        raise InvalidInput(f"{len(weights)} --weight values for {len(canaries)} --canary models")
    if sticky_header and sticky_field:
        raise InvalidInput("choose one of --sticky-header and --sticky-field")
    specs = [VariantSpec(uri=model)]
    for index, uri in enumerate(canaries):
        share = weights[index] if index < len(weights) else 0.0
        specs.append(VariantSpec(uri=uri, mode=VariantMode.CANARY, weight=share))
    specs += [VariantSpec(uri=uri, mode=VariantMode.SHADOW, sample=shadow_sample) for uri in shadow or []]
    sticky = None
    if sticky_header:
        sticky = StickySpec(source="header", name=sticky_header)
    elif sticky_field:
        sticky = StickySpec(source="field", name=sticky_field)
    slo = None
    if any(v is not None for v in (max_error_rate, max_p95_ms, max_disagreement)):
        slo = CanarySLO(
            max_error_rate=max_error_rate,
            max_p95_ms=max_p95_ms,
            max_disagreement=max_disagreement,
            min_requests=min_requests,
            window_s=window,
        )
    batching = _batching(max_batch_size, max_batch_wait_ms)
    deployment = backend().deployments.deploy(
        name, specs, sticky=sticky, slo=slo, batching=batching, explain_sample=explain_sample
    )
    _render(deployment, as_json, f"Deployed {name!r} (revision {deployment.revision}).")


@app.command("set-traffic")
def set_traffic(
    name: str,
    weights: Annotated[list[str], typer.Argument(help="VARIANT=PERCENT pairs, e.g. canary=25")],
    as_json: JsonOpt = False,
) -> None:
    """Set canary (or A/B) weights; the primary takes the rest."""
    parsed: dict[str, float] = {}
    for pair in weights:
        variant, sep, value = pair.partition("=")
        if not sep or not variant:
            raise InvalidInput(f"expected VARIANT=PERCENT, got {pair!r}")
        try:
            parsed[variant] = float(value)
        except ValueError:
            raise InvalidInput(f"{pair!r}: the weight {value!r} is not a number") from None
    deployment = backend().deployments.set_traffic(name, parsed)
    _render(deployment, as_json, f"Traffic of {name!r} changed (revision {deployment.revision}).")


@app.command()
def batching(
    name: str,
    max_batch_size: BatchSizeOpt = None,
    max_batch_wait_ms: BatchWaitOpt = None,
    off: Annotated[bool, typer.Option("--off", help="Turn micro-batching off.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Turn micro-batching on or off: concurrent requests predicted in one model call."""
    spec = _batching(max_batch_size, max_batch_wait_ms)
    if off and spec is not None:
        raise InvalidInput("give either --off or --max-batch-size with --max-batch-wait-ms, not both")
    if not off and spec is None:
        raise InvalidInput("give --max-batch-size N --max-batch-wait-ms M, or --off")
    deployment = backend().deployments.set_batching(name, spec)
    _render(
        deployment, as_json, f"{_batching_line(deployment).capitalize()} for {name!r} (revision {deployment.revision})."
    )


@app.command("explain-sample")
def explain_sample(
    name: str,
    rate: Annotated[
        float, typer.Option("--rate", help="Share of answered requests (0-1, 0.05 = 5 %) explained; 0 stops.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Write SHAP attributions of a sample of answered requests to the inference log.

    The server computes them off the response path (the inference log's writer), with the
    explainer of the explain endpoint, as columns attribution.<feature> and attribution_base."""
    deployment = backend().deployments.set_explain_sample(name, rate)
    what = _explain_line(deployment).capitalize()
    _render(deployment, as_json, f"{what} for {name!r} (revision {deployment.revision}).")


@app.command()
def features(
    name: str,
    feature: Annotated[
        list[str] | None,
        typer.Option("--feature", help="A feature store reference, view:feature or view (repeatable)."),
    ] = None,
    on_missing: Annotated[
        str, typer.Option("--on-missing", help="reject (404) or default: what an unknown entity gets.")
    ] = "reject",
    default: Annotated[
        list[str] | None, typer.Option("--default", help="feature=number, for --on-missing default.")
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="Stop enriching requests.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Enrich each request from the feature store's online store (requests carry the entity keys)."""
    if off == bool(feature):
        raise InvalidInput("give --feature (one or more), or --off")
    defaults: dict[str, Any] = {}
    for item in default or []:
        key, sep, value = item.partition("=")
        try:
            defaults[key] = float(value)
        except ValueError:
            raise InvalidInput(f"--default takes feature=number, not {item!r}") from None
        if not sep or not key:
            raise InvalidInput(f"--default takes feature=number, not {item!r}")
    lookup = None if off else FeatureLookup(features=tuple(feature or ()), on_missing=on_missing, defaults=defaults)  # type: ignore[arg-type]
    deployment = backend().deployments.set_features(name, lookup)
    what = "no longer enriched" if lookup is None else f"enriched with {', '.join(lookup.features)}"
    _render(deployment, as_json, f"Requests to {name!r} {what} (revision {deployment.revision}).")


@app.command()
def promote(
    name: str,
    variant: Annotated[str | None, typer.Option(help="The canary to promote, when there are several.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make the canary the primary; @champion follows when it named the old primary."""
    local = backend()
    deployment, moved = champion.promote(local.deployments, local.aliases, name, variant)
    follow = "" if moved is None else f" {moved.describe()}."
    _render(deployment, as_json, f"Promoted the canary of {name!r} (revision {deployment.revision}).{follow}")


@app.command()
def rollback(name: str, as_json: JsonOpt = False) -> None:
    """Go back to the last primary that served all traffic (drops canaries, or restores the old primary).

    @champion follows a restored primary when it named the one rolled back."""
    local = backend()
    deployment, moved = champion.rollback(local.deployments, local.aliases, name)
    follow = "" if moved is None else f" {moved.describe()}."
    _render(deployment, as_json, f"Rolled back {name!r} (revision {deployment.revision}).{follow}")


@app.command()
def undeploy(name: str) -> None:
    """Remove the deployment; running servers stop answering for it within seconds. History stays."""
    backend().deployments.undeploy(name)
    console.print(f"Undeployed {name!r}.")


@app.command()
def export(
    name: str,
    fmt: Annotated[str, typer.Option("--format", help="k8s (Deployment + Service), kserve or dockerfile.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")],
    image: Annotated[str, typer.Option(help="Container image the manifests run.")] = "modelyard-serve:latest",
    replicas: Annotated[int, typer.Option(help="Pods (k8s) or minimum replicas (kserve).")] = 1,
    namespace: Annotated[str | None, typer.Option(help="Kubernetes namespace of the resources.")] = None,
    secret: Annotated[str, typer.Option(help="Secret holding MODELYARD_STORE_URI and friends.")] = "modelyard-store",
    base_image: Annotated[
        str | None, typer.Option("--base-image", help="The Dockerfile's FROM; pin it by digest (image@sha256:...).")
    ] = None,
    cpu_request: Annotated[str, typer.Option(help="CPU each container requests (Kubernetes quantity).")] = "500m",
    memory_request: Annotated[str, typer.Option(help="Memory each container requests.")] = "512Mi",
    cpu_limit: Annotated[str, typer.Option(help="CPU each container may use at most.")] = "2",
    memory_limit: Annotated[str, typer.Option(help="Memory each container may use at most.")] = "2Gi",
) -> None:
    """Write a Dockerfile or Kubernetes/KServe manifests that serve deployment NAME.

    dockerfile writes a whole build context: the Dockerfile, requirements.txt (every distribution
    pinned to the version installed here) and wheels/ holding this modelyard."""
    from modelyard.sdk.export import export_deployment  # loads the model stack: only this command needs it
    from modelyard.serving.manifests import ExportOptions

    options = ExportOptions(
        image=image,
        replicas=replicas,
        namespace=namespace,
        secret=secret,
        base_image=base_image,
        cpu_request=cpu_request,
        memory_request=memory_request,
        cpu_limit=cpu_limit,
        memory_limit=memory_limit,
    )
    for path in export_deployment(backend(), name, fmt, out, options):
        console.print(f"wrote {path}")


def _event_summary(event: DeploymentEvent) -> str:
    after = event.after or {}
    versions = ", ".join(
        f"{v['name']}={v['model_name']}/{v['version']}"
        + (f" {v['weight']:g}%" if v["mode"] in ("canary", "ab") else "")
        for v in after.get("variants", [])
    )
    why = "; ".join(event.details.reasons) or event.details.reason
    if event.kind is EventKind.BATCHING:
        batching = after.get("batching")
        versions += " — batching " + (
            "off" if not batching else f"{batching['max_batch_size']} rows / {batching['max_wait_ms']:g} ms"
        )
    if event.kind is EventKind.EXPLAIN_SAMPLE:
        versions += f" — attributions logged for {after.get('explain_sample', 0.0):.4g} of requests"
    return versions + (f" — {why}" if why else "")


@app.command()
def history(
    name: str,
    limit: Annotated[int | None, typer.Option(help="Only the newest N events.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every change of a deployment: when, who, what, and the state after it."""
    events = backend().deployments.history(name, limit=limit)
    if as_json:
        print_json(events)
        return
    table = Table(title=f"History of {name}")
    for column in ("revision", "time", "event", "actor", "after"):
        table.add_column(column)
    for e in events:
        table.add_row(str(e.revision), fmt_time(e.time_ms), e.kind.value, e.actor, _event_summary(e))
    console.print(table)


def _live_figures(url: str, name: str) -> dict[str, dict[str, Any]]:
    """Per-variant figures of ``name`` from a server's Prometheus text (``httpx.HTTPError`` if unreachable)."""
    response = httpx.get(f"{url.rstrip('/')}/metrics", timeout=5.0)
    response.raise_for_status()
    figures: dict[str, dict[str, Any]] = {}

    def slot(variant: str) -> dict[str, Any]:
        return figures.setdefault(variant, {"requests": 0.0, "errors": 0.0, "latency_sum_s": 0.0, "latency_count": 0.0})

    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("deployment") != name or labels.get("variant", "-") == "-":
                continue
            variant = labels["variant"]
            if sample.name == "modelyard_requests_total":
                slot(variant)["requests"] += sample.value
            elif sample.name == "modelyard_request_errors_total" and labels.get("kind") != "invalid_input":
                slot(variant)["errors"] += sample.value
            elif sample.name == "modelyard_request_latency_seconds_sum":
                slot(variant)["latency_sum_s"] += sample.value
            elif sample.name == "modelyard_request_latency_seconds_count":
                slot(variant)["latency_count"] += sample.value
            elif sample.name == "modelyard_shadow_rows_total":
                slot(variant)["shadow_rows"] = sample.value
            elif sample.name == "modelyard_shadow_disagreements_total":
                slot(variant)["shadow_disagreements"] = sample.value
    for values in figures.values():
        values["requests"] += values["errors"]  # failed requests are counted apart from answered ones
        count = values.pop("latency_count")
        total = values.pop("latency_sum_s")
        values["mean_latency_ms"] = None if count == 0 else 1000.0 * total / count
        rows = values.pop("shadow_rows", None)
        disagreements = values.pop("shadow_disagreements", 0.0)
        values["shadow_disagreement"] = None if not rows else disagreements / rows
    return figures


@app.command()
def status(
    name: str,
    url: Annotated[str | None, typer.Option(help="A running server, e.g. http://127.0.0.1:8080")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Traffic, requests, errors, latency and shadow disagreement of a deployment."""
    service = backend().deployments
    deployment = service.get(name)
    live: dict[str, dict[str, Any]] | None = None
    source = "events"
    if url is not None:
        try:
            live = _live_figures(url, name)
            source = url
        except httpx.HTTPError as exc:
            console.print(f"[yellow]server at {url} not reachable ({exc}); showing recorded figures[/yellow]")
    decisions = [e for e in service.history(name) if e.details.figures]
    last = decisions[-1] if decisions else None
    traffic = deployment.traffic()
    rows = []
    for v in deployment.variants:
        figures = (live or {}).get(v.name, {})
        rows.append(
            {
                "variant": v.name,
                "mode": v.mode.value,
                "model_version": v.model_version,
                "traffic_percent": traffic.get(v.name),
                "requests": figures.get("requests"),
                "errors": figures.get("errors"),
                "mean_latency_ms": figures.get("mean_latency_ms"),
                "shadow_disagreement": figures.get("shadow_disagreement"),
            }
        )
    decision: dict[str, Any] | None = None
    if last is not None:
        decision = {
            "kind": last.kind.value,
            "time_ms": last.time_ms,
            "variant": last.details.variant,
            "model_version": last.details.model_version,
            "figures": last.details.figures,
            "reasons": list(last.details.reasons),
        }
    if as_json:
        print_json(
            {
                "deployment": name,
                "revision": deployment.revision,
                "batching": None if deployment.batching is None else deployment.batching.to_dict(),
                "explain_sample": deployment.explain_sample,
                "source": source,
                "variants": rows,
                "last_decision": decision,
            }
        )
        return
    table = Table(title=f"Status of {name} (revision {deployment.revision}, figures from {source})")
    for column in ("variant", "mode", "model version", "traffic %", "requests", "errors", "mean ms", "shadow disagr."):
        table.add_column(column)

    def cell(value: Any, fmt: str = "{:g}") -> str:
        return "-" if value is None else fmt.format(value)

    for r in rows:
        table.add_row(
            cell(r["variant"], "{}"),
            cell(r["mode"], "{}"),
            cell(r["model_version"], "{}"),
            cell(r["traffic_percent"]),
            cell(r["requests"], "{:.0f}"),
            cell(r["errors"], "{:.0f}"),
            cell(r["mean_latency_ms"], "{:.2f}"),
            cell(r["shadow_disagreement"], "{:.1%}"),
        )
    console.print(table)
    console.print(_batching_line(deployment))
    console.print(_explain_line(deployment))
    if decision is not None:
        f = decision["figures"]
        console.print(
            f"last automatic decision: {decision['kind']} of {decision['model_version']} at "
            f"{fmt_time(decision['time_ms'])}: {cell(f.get('requests'), '{}')} requests, "
            f"{cell(f.get('errors'), '{}')} errors, p95 {cell(f.get('p95_ms'), '{:.1f}')} ms, "
            f"disagreement {cell(f.get('disagreement_rate'), '{:.1%}')}"
            f" — {'; '.join(decision['reasons'])}"
        )
