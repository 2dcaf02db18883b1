"""``modelyard users`` and ``modelyard tokens``: people, their roles and their API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from modelyard.cli._backend import backend
from modelyard.cli._governance import scope
from modelyard.cli._output import console, fmt_time, print_json
from modelyard.errors import InvalidInput

app = typer.Typer(help="Users and their roles (viewer < contributor < approver < admin).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens: shown once, stored hashed, expiring, revocable.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Scope: one registered model.")]
ExperimentOpt = Annotated[str | None, typer.Option("--experiment", help="Scope: one experiment id.")]
DeploymentOpt = Annotated[str | None, typer.Option("--deployment", help="Scope: one deployment.")]


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Users and their role bindings."""
    users = backend().identity.list_users()
    if as_json:
        print_json([{"user": u, "roles": b} for u, b in users])
        return
    table = Table(title="Users")
    for column in ("name", "roles", "created", "disabled"):
        table.add_column(column)
    for user, bindings in users:
        roles = ", ".join(f"{b.role.label}@{b.scope}" for b in bindings)
        table.add_row(user.name, roles, fmt_time(user.created_ms), "yes" if user.disabled else "")
    console.print(table)


@app.command()
def create(name: str, role: Annotated[str, typer.Option("--role")] = "viewer") -> None:
    """Create user NAME with a global ROLE (admin only)."""
    backend(create=True).identity.create_user(name, role=role)
    console.print(f"created user {name!r} ({role})")


@app.command()
def grant(
    name: str,
    role: str,
    model: ModelOpt = None,
    experiment: ExperimentOpt = None,
    deployment: DeploymentOpt = None,
) -> None:
    """Give NAME the ROLE globally or on one model / experiment / deployment."""
    where = scope(model, experiment, deployment)
    backend().identity.grant(name, role, where)
    console.print(f"{name!r} is {role} on {where}")


@app.command()
def revoke(
    name: str, model: ModelOpt = None, experiment: ExperimentOpt = None, deployment: DeploymentOpt = None
) -> None:
    """Remove NAME's role globally or on one scope."""
    where = scope(model, experiment, deployment)
    backend().identity.revoke(name, where)
    console.print(f"removed the role of {name!r} on {where}")


@app.command()
def password(
    name: str,
    value: Annotated[
        str | None, typer.Option("--password", help="The new password (default: asked for, not echoed).")
    ] = None,
) -> None:
    """Set the password NAME logs in to the server with (yourself, or anyone as admin)."""
    identity = backend().identity  # a missing store is said before a password is asked for
    if value is None and not sys.stdin.isatty():
        raise InvalidInput("no terminal to ask for the password on: pass --password (or run it in a terminal)")
    secret = value if value is not None else typer.prompt("password", hide_input=True, confirmation_prompt=True)
    identity.set_password(secret, user=name)
    console.print(f"password of {name!r} set")


@tokens_app.command("create")
def create_token(
    user: Annotated[str | None, typer.Option("--user", help="For another user (admin only).")] = None,
    days: Annotated[float, typer.Option("--expires-in-days")] = 90,
    description: Annotated[str, typer.Option("--description")] = "",
) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    token, secret = backend().identity.create_token(user=user, expires_in_days=days, description=description)
    console.print(f"token {token.id} for {token.user!r}, expires {fmt_time(token.expires_ms)} UTC; store it now:")
    typer.echo(secret)


@tokens_app.command("list")
def list_tokens(user: Annotated[str | None, typer.Option("--user")] = None, as_json: JsonOpt = False) -> None:
    """Your tokens (or another user's, as admin); never their secrets."""
    tokens = backend().identity.list_tokens(user)
    if as_json:
        print_json(tokens)
        return
    table = Table(title="API tokens")
    for column in ("id", "user", "description", "created", "expires", "revoked"):
        table.add_column(column)
    for t in tokens:
        table.add_row(t.id, t.user, t.description, fmt_time(t.created_ms), fmt_time(t.expires_ms),
                      fmt_time(t.revoked_ms))  # fmt: skip
    console.print(table)


@tokens_app.command("revoke")
def revoke_token(token_id: str) -> None:
    """Revoke a token at once."""
    backend().identity.revoke_token(token_id)
    console.print(f"revoked token {token_id}")
