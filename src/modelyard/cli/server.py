"""``modelyard server``: the team server (REST API ``/api/v1``) over the configured store.

Every request needs a credential (``Authorization: Bearer <token>``; create users and tokens with
``modelyard users`` / ``modelyard tokens`` on the server's store). ``--auth none`` acts as the
local user for everyone and is only allowed on 127.0.0.1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.cli._backend import backend
from modelyard.cli._output import err_console
from modelyard.config import Settings
from modelyard.errors import InvalidInput
from modelyard.server.app import create_app
from modelyard.server.auth import AuthMode
from modelyard.server.limits import Limits
from modelyard.server.runner import run

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def server(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    workers: Annotated[int, typer.Option(help="Worker processes sharing the port.")] = 1,
    auth: Annotated[AuthMode, typer.Option(help="token (default) or none (single user, loopback only).")] = (
        AuthMode.TOKEN
    ),
    max_body_mb: Annotated[float, typer.Option(help="Largest JSON request body, in MiB.")] = 32,
    max_artifact_mb: Annotated[float, typer.Option(help="Largest artifact upload, in MiB.")] = 5120,
    timeout: Annotated[float, typer.Option(help="Seconds a request may take before it is answered 503.")] = 300,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve the REST API over the configured store (MODELYARD_STORE_URI, MODELYARD_ARTIFACT_URI)."""
    if not 0 <= port <= 65535:
        raise InvalidInput(f"--port must be within 0-65535, got {port}")
    if workers < 1:
        raise InvalidInput(f"--workers must be at least 1, got {workers}")
    if auth is AuthMode.NONE and host not in _LOOPBACK:
        raise InvalidInput(f"--auth none only binds 127.0.0.1 (anyone reaching {host} would act as you)")
    settings = Settings.from_env()
    if settings.tracking_uri and settings.tracking_uri.startswith(("http://", "https://")):
        raise InvalidInput("MODELYARD_TRACKING_URI points at a server; a server needs a store (unset it)")
    backend()  # the store must exist: a mistyped MODELYARD_STORE_URI is "no modelyard store at ...", exit 4
    limits = Limits(
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        max_artifact_bytes=int(max_artifact_mb * 1024 * 1024),
        request_timeout_s=timeout,
    )
    if auth is AuthMode.NONE:
        host = "127.0.0.1"
        err_console.print(
            f"[bold red]WARNING: --auth none: NO AUTHENTICATION. Every request acts as {settings.user!r}. "
            "Listening on 127.0.0.1 only; use tokens for a team.[/bold red]"
        )
    err_console.print(f"modelyard server on http://{host}:{port} ({workers} worker(s)) over {settings.store_uri}")
    run(lambda: create_app(settings, auth=auth, limits=limits), host, port, workers, log_level=log_level)
