"""``modelyard datasets``: list datasets and versions, show a version's profile, diff two versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._output import console, fmt_time, fmt_value, print_json
from modelyard.data import DatasetDiff
from modelyard.domain.data import CategoricalColumnProfile, DatasetVersion, NumericColumnProfile

app = typer.Typer(help="Browse, inspect and compare dataset versions.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
_SHORT = 12


def _short(digest: str | None) -> str:
    return digest[:_SHORT] if digest else "-"


def _opt(value: float | None) -> str:
    return "-" if value is None else fmt_value(value)


@app.command("list")
def list_(
    name: Annotated[str | None, typer.Argument(help="A dataset name: list its versions.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List datasets, or the versions of dataset NAME (newest first)."""
    service = backend().datasets
    if name is None:
        datasets = service.list_datasets()
        if as_json:
            print_json(datasets)
            return
        table = Table(title="Datasets")
        for column in ("name", "versions", "latest", "latest logged", "created"):
            table.add_column(column)
        for d in datasets:
            table.add_row(
                d.name,
                str(d.version_count),
                _short(d.latest_digest),
                fmt_time(d.latest_created_at),
                fmt_time(d.created_at),
            )
        console.print(table)
        return
    versions = service.list_versions(name)
    if as_json:
        print_json([_version_summary(v) for v in versions])
        return
    table = Table(title=f"Versions of {name}")
    for column in ("digest", "rows", "columns", "size", "source", "logged", "by"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            _short(v.digest),
            str(v.row_count),
            str(len(v.columns)),
            f"{v.size_bytes:,} B",
            v.source_uri or "-",
            fmt_time(v.created_at),
            v.created_by,
        )
    console.print(table)


def _version_summary(v: DatasetVersion) -> dict[str, Any]:
    return {
        "uri": v.uri,
        "name": v.name,
        "digest": v.digest,
        "row_count": v.row_count,
        "size_bytes": v.size_bytes,
        "source_uri": v.source_uri,
        "storage_uri": v.storage_uri,
        "created_at": v.created_at,
        "created_by": v.created_by,
        "schema": [c.to_dict() for c in v.columns],
    }


@app.command()
def show(
    uri: Annotated[str, typer.Argument(help="datasets:/<name>@<digest-prefix>")], as_json: JsonOpt = False
) -> None:
    """Show a version: schema and the profile of every column."""
    b = backend()
    version = b.datasets.resolve(uri)
    runs = b.datasets.runs_of(version)
    if as_json:
        body = _version_summary(version)
        body["profile"] = version.profile.to_dict()
        body["runs"] = [{"run_id": r.run_id, "role": r.role.value} for r in runs]
        print_json(body)
        return
    console.print(f"[bold]{version.uri}[/bold]")
    console.print(
        f"rows {version.row_count:,} · columns {len(version.columns)} · {version.size_bytes:,} bytes · "
        f"source {version.source_uri or '-'} · logged {fmt_time(version.created_at)} by {version.created_by}"
    )
    numeric = Table(title="Numeric and datetime columns")
    for column in ("column", "type", "kind", "missing", "mean", "std", "min", "p25", "p50", "p75", "max", "bins"):
        numeric.add_column(column)
    categorical = Table(title="Categorical and boolean columns")
    for column in ("column", "type", "kind", "missing", "distinct", "top levels", "other"):
        categorical.add_column(column)
    for col in version.profile.columns:
        if isinstance(col, NumericColumnProfile):
            q = dict(zip(col.quantile_levels, col.quantiles, strict=False))
            numeric.add_row(
                col.name,
                col.dtype,
                col.kind.value,
                f"{col.missing_rate:.2%}",
                _opt(col.mean),
                _opt(col.std),
                _opt(col.min),
                _opt(q.get(0.25)),
                _opt(q.get(0.5)),
                _opt(q.get(0.75)),
                _opt(col.max),
                str(len(col.bins.counts)),
            )
        elif isinstance(col, CategoricalColumnProfile):
            top = ", ".join(f"{v} ({c})" for v, c in zip(col.values[:5], col.counts[:5], strict=True))
            if len(col.values) > 5:
                top += f", … {len(col.values) - 5} more listed"
            categorical.add_row(
                col.name,
                col.dtype,
                col.kind.value,
                f"{col.missing_rate:.2%}",
                str(col.distinct_count),
                top or "-",
                str(col.other_count),
            )
    if numeric.row_count:
        console.print(numeric)
    if categorical.row_count:
        console.print(categorical)
    if runs:
        console.print("used by: " + ", ".join(f"{r.run_id} ({r.role.value})" for r in runs))


@app.command()
def diff(
    uri_a: Annotated[str, typer.Argument(help="The baseline version, datasets:/<name>@<digest-prefix>")],
    uri_b: Annotated[str, typer.Argument(help="The version compared with it")],
    as_json: JsonOpt = False,
) -> None:
    """Compare version B with A: schema changes, then per-column distribution change."""
    result = backend().datasets.diff(uri_a, uri_b)
    if as_json:
        print_json(_diff_json(result))
        return
    console.print(f"A {result.a}\nB {result.b}")
    console.print(f"rows {result.row_count_a:,} -> {result.row_count_b:,}")
    if result.added or result.removed or result.type_changed:
        schema = Table(title="Schema changes")
        for column in ("column", "change", "A", "B"):
            schema.add_column(column)
        for c in result.added:
            schema.add_row(c.name, "[green]added[/green]", "-", c.type)
        for c in result.removed:
            schema.add_row(c.name, "[red]removed[/red]", c.type, "-")
        for t in result.type_changed:
            schema.add_row(t.name, "[yellow]type changed[/yellow]", t.type_a, t.type_b)
        console.print(schema)
    else:
        console.print("schema: unchanged")
    table = Table(title="Distribution change (PSI on A's decile bins; TVD of level frequencies)")
    for column in ("column", "kind", "PSI", "TVD", "mean A", "mean B", "missing A", "missing B", "new levels"):
        table.add_column(column)
    for change in result.columns:
        table.add_row(
            change.name,
            change.kind,
            _opt(change.psi),
            _opt(change.tvd),
            _opt(change.mean_a),
            _opt(change.mean_b),
            f"{change.missing_rate_a:.2%}",
            f"{change.missing_rate_b:.2%}",
            ", ".join(change.new_levels) or "-",
        )
    console.print(table)


def _diff_json(result: DatasetDiff) -> dict[str, Any]:
    return {
        "a": result.a,
        "b": result.b,
        "row_count_a": result.row_count_a,
        "row_count_b": result.row_count_b,
        "added": [c.to_dict() for c in result.added],
        "removed": [c.to_dict() for c in result.removed],
        "type_changed": [{"name": t.name, "type_a": t.type_a, "type_b": t.type_b} for t in result.type_changed],
        "columns": [
            {
                "name": c.name,
                "kind": c.kind,
                "psi": c.psi,
                "tvd": c.tvd,
                "mean_a": c.mean_a,
                "mean_b": c.mean_b,
                "mean_change": c.mean_change,
                "missing_rate_a": c.missing_rate_a,
                "missing_rate_b": c.missing_rate_b,
                "missing_rate_change": c.missing_rate_change,
                "new_levels": list(c.new_levels),
            }
            for c in result.columns
        ],
    }


@app.command()
def drift(
    reference: Annotated[str, typer.Argument(help="The reference version, datasets:/name@digest.")],
    current: Annotated[str, typer.Argument(help="The version to check, datasets:/name@digest.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write a self-contained HTML report here.")] = None,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit with status 1 when any feature drifted (for CI).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Test every shared column of CURRENT for drift against REFERENCE."""
    # scipy and plotly cost ~2 s of start-up: only this command of the group pays for them.
    from modelyard.sdk.monitoring import datasets_drift

    result, html = datasets_drift(backend(), reference, current)
    if out is not None:
        out.write_text(html, encoding="utf-8")
    if as_json:
        print_json(result.to_dict())
    else:
        table = Table(title=f"Drift of {current} against {reference}")
        for column in ("feature", "method", "statistic", "p-value", "unseen share", "status"):
            table.add_column(column)
        for f in result.features:
            table.add_row(
                f.feature, f.method.value, _opt(f.statistic), _opt(f.p_value), _opt(f.unseen_share), f.status.value
            )
        console.print(table)
        for f in result.features:
            if f.details.get("note"):
                console.print(f"[yellow]{f.feature}: {f.details['note']}[/]")
        drifted = ", ".join(result.drifted_features) or "none"
        console.print(f"drifted: {drifted} (share {result.share_drifted:.3f})" + (f"; report: {out}" if out else ""))
    if fail_on_drift and result.drifted_features:
        sys.exit(1)  # not typer.Exit: the root runs click with standalone_mode=False, which drops its code
