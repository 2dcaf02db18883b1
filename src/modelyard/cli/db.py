"""``modelyard db``: the metadata store's schema."""

from __future__ import annotations

import typer

from modelyard.cli._output import console
from modelyard.config import Settings
from modelyard.store.db import Database
from modelyard.store.migration import upgrade as upgrade_schema

app = typer.Typer(help="Manage the metadata store's schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Create or upgrade the store's schema to this version of modelyard (safe to run twice)."""
    settings = Settings.from_env()
    database = Database(settings.store_uri)
    before, after = upgrade_schema(database)
    if before == after:
        console.print(f"{database.safe_url} is already at revision {after}")
    else:
        console.print(f"{database.safe_url}: {before or 'empty'} -> {after}")
