"""``modelyard models``: the model registry from the shell: list, show, register, alias, stage, tag.

Each command parses its arguments, calls one registry service and renders the result as a rich
table or, with ``--json``, as JSON for scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._governance import name_version
from modelyard.cli._output import console, fmt_time, print_json
from modelyard.domain.registry import ModelStage, ModelVersion, RegisteredModel
from modelyard.errors import InvalidInput
from modelyard.governance import ModelCardService, render_html, render_markdown

app = typer.Typer(help="Manage the model registry: registered models, versions, aliases, stages.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
VersionOpt = Annotated[int | None, typer.Option("--version", "-v", help="Act on this version instead of the model.")]

STAGE_STYLE = {
    ModelStage.PRODUCTION: "green",
    ModelStage.STAGING: "cyan",
    ModelStage.ARCHIVED: "dim",
    ModelStage.NONE: "",
}


def _fmt_tags(tags: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _models_table(models: list[RegisteredModel]) -> Table:
    table = Table(title="Registered models")
    for column in ("name", "latest", "aliases", "tags", "updated", "description"):
        table.add_column(column)
    for m in models:
        aliases = ", ".join(f"@{a}={v}" for a, v in m.aliases.items())
        latest = str(m.latest_version) if m.latest_version is not None else "-"
        table.add_row(m.name, latest, aliases, _fmt_tags(m.tags), fmt_time(m.last_updated_time), m.description)
    return table


def _versions_table(title: str, versions: list[ModelVersion]) -> Table:
    table = Table(title=title)
    for column in ("name", "version", "stage", "aliases", "flavor", "run", "created", "tags", "description"):
        table.add_column(column)
    for v in versions:
        style = STAGE_STYLE[v.stage]
        stage = f"[{style}]{v.stage.value}[/{style}]" if style else v.stage.value
        table.add_row(
            v.name,
            str(v.version),
            stage,
            ", ".join(f"@{a}" for a in v.aliases),
            v.flavor,
            v.run_id[:8],
            fmt_time(v.creation_time),
            _fmt_tags(v.tags),
            v.description,
        )
    return table


@app.command("list")
def list_(
    filter_: Annotated[
        str | None, typer.Option("--filter", "-f", help="e.g. \"name LIKE 'churn%' AND tags.team = 'growth'\"")
    ] = None,
    max_results: Annotated[int, typer.Option(help="At most this many models.")] = 1000,
    as_json: JsonOpt = False,
) -> None:
    """List registered models."""
    models = backend().registered_models.search(filter_, max_results=max_results)
    if as_json:
        print_json(models)
    else:
        console.print(_models_table(models))


@app.command()
def show(name: str, as_json: JsonOpt = False) -> None:
    """Show a registered model and its versions."""
    b = backend()
    model = b.registered_models.get(name)
    versions = b.model_versions.list(name)
    if as_json:
        print_json({"model": model, "versions": versions})
        return
    console.print(_models_table([model]))
    console.print(_versions_table(f"Versions of {name}", versions))


@app.command()
def versions(
    name: Annotated[str | None, typer.Argument(help="Only this model's versions.")] = None,
    filter_: Annotated[
        str | None, typer.Option("--filter", "-f", help="e.g. \"stage = 'Production'\" or \"run_id = '…'\"")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List model versions, newest first."""
    b = backend()
    if name is not None and filter_ is None:
        found = b.model_versions.list(name)
    else:
        clauses = [f"name = '{name.replace(chr(39), chr(39) * 2)}'"] if name is not None else []
        found = b.model_versions.search(" AND ".join([*clauses, *([filter_] if filter_ else [])]) or None)
    if as_json:
        print_json(found)
    else:
        console.print(_versions_table(f"Versions of {name}" if name else "Model versions", found))


@app.command()
def register(
    uri: Annotated[str, typer.Argument(help="runs:/<run_id>/<path> or models:/<name>/<version>")],
    name: str,
    description: Annotated[str | None, typer.Option(help="The version's description.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a logged model as the next version of NAME (creating NAME if needed)."""
    version = backend(create=True).model_versions.create(name, uri, description=description, create_model=True)
    if as_json:
        print_json(version)
    else:
        console.print(f"registered {uri} as version {version.version} of {name!r} ({version.uri})")


@app.command()
def alias(name: str, alias_: Annotated[str, typer.Argument(metavar="ALIAS")], version: int) -> None:
    """Point ALIAS (champion, challenger, ...) at VERSION of NAME, moving it if it is set elsewhere."""
    backend().aliases.set(name, alias_, version)
    console.print(f"models:/{name}@{alias_} -> version {version}")


@app.command()
def unalias(name: str, alias_: Annotated[str, typer.Argument(metavar="ALIAS")]) -> None:
    """Remove ALIAS from NAME."""
    backend().aliases.delete(name, alias_)
    console.print(f"removed alias {alias_!r} of {name!r}")


@app.command()
def stage(
    name: str,
    version: int,
    stage_: Annotated[str, typer.Argument(metavar="STAGE", help="None, Staging, Production or Archived")],
    archive_existing: Annotated[
        bool, typer.Option("--archive-existing", help="Archive the versions already in STAGE.")
    ] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why; shown to approvers if STAGE needs approval.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Move VERSION of NAME to STAGE (or request approval, if NAME's policy protects STAGE)."""
    moved = backend().stages.transition(
        name, version, stage_, archive_existing_versions=archive_existing, reason=reason
    )
    if as_json:
        print_json(moved)
    else:
        console.print(f"version {version} of {name!r} is now {moved.stage.value}")


@app.command()
def describe(name: str, description: str, version: VersionOpt = None) -> None:
    """Set the description of NAME (or of one of its versions with --version)."""
    b = backend()
    if version is None:
        b.registered_models.update(name, description=description)
        console.print(f"updated the description of {name!r}")
    else:
        b.model_versions.update(name, version, description=description)
        console.print(f"updated the description of version {version} of {name!r}")


@app.command()
def tag(
    name: str,
    key: str,
    value: Annotated[str | None, typer.Argument(help="Omit with --delete.")] = None,
    version: VersionOpt = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the tag KEY.")] = False,
) -> None:
    """Set (or --delete) the tag KEY on NAME, or on one of its versions with --version."""
    b = backend()
    if delete:
        if version is None:
            b.registered_models.delete_tag(name, key)
        else:
            b.model_versions.delete_tag(name, version, key)
        console.print(f"deleted tag {key!r}")
        return
    if value is None:
        raise typer.BadParameter("give a VALUE, or --delete to remove the tag")
    if version is None:
        b.registered_models.set_tag(name, key, value)
    else:
        b.model_versions.set_tag(name, version, key, value)
    console.print(f"set tag {key}={value}")


@app.command()
def delete(name: str, version: VersionOpt = None) -> None:
    """Delete NAME with all its versions, or only one version with --version (not while in Production)."""
    b = backend()
    if version is None:
        b.registered_models.delete(name)
        console.print(f"deleted registered model {name!r}")
    else:
        b.model_versions.delete(name, version)
        console.print(f"deleted version {version} of {name!r}")


@app.command()
def card(
    model: Annotated[str, typer.Argument(metavar="NAME/VERSION")],
    fmt: Annotated[str, typer.Option("--format", help="markdown or html")] = "markdown",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Fill a person's field first (repeat): intended_use, out_of_scope_use, limitations, "
            "ethical_considerations, caveats (a complete card); documentation, licenses, references, citations, "
            "users, input_description, output_description (optional).",
        ),
    ] = None,
) -> None:
    """The model card of NAME/VERSION, from the store's records plus the fields people filled."""
    name, version = name_version(model)
    b = backend()
    cards = ModelCardService(b.db, actor=b.settings.user)
    if set_:
        pairs = [item.partition("=") for item in set_]
        if any(not sep for _, sep, _ in pairs):
            raise InvalidInput("--set takes FIELD=VALUE, e.g. --set intended_use='churn ranking'")
        cards.set_fields(name, version, {k.strip(): v for k, _, v in pairs})
    renderers = {"markdown": render_markdown, "md": render_markdown, "html": render_html}
    if fmt not in renderers:
        raise InvalidInput(f"unknown card format {fmt!r}; use markdown or html")
    text = renderers[fmt](cards.card(name, version))
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote the model card of {name}/{version} to {out}")
