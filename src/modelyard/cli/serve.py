"""``modelyard serve``: answer requests for stored deployments, following their changes live.

Models are loaded before the port opens; traffic changes, promotions and rollbacks made from any
other process reach this server within about a second, without a restart. ``--workers N`` forks N
processes on one port (each with its own reloader); ``/metrics`` on any of them sums all N.
"""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.cli._backend import backend
from modelyard.cli._output import err_console
from modelyard.errors import InvalidInput
from modelyard.sdk.serving import serve as serve_deployments
from modelyard.serving import worker_metrics
from modelyard.serving.runner import bind_socket


def serve(
    deployments: Annotated[
        list[str] | None, typer.Argument(help="Deployments to serve (default: all, including new ones).")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes sharing the port.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    variant: Annotated[
        str | None,
        typer.Option(
            help="Give this variant all of this server's traffic (for KServe revisions, which split "
            "traffic themselves); once it is promoted or rolled back, serve the deployment as stored."
        ),
    ] = None,
) -> None:
    """Serve deployments over OIP v2, /invocations and /v1/deployments/{name}/predict."""
    if not 0 <= port <= 65535:
        raise InvalidInput(f"--port must be within 0-65535, got {port}")
    if workers < 1:
        raise InvalidInput(f"--workers must be at least 1, got {workers}")
    names = deployments or None
    if workers > 1:
        worker_metrics.enable()  # before the app's series exist, so /metrics sums every one across workers
    services = backend()
    bind_socket(host, port).close()  # a busy port fails here, in one line, before models load
    if variant is not None and variant not in {v.name for d in services.deployments.list(names) for v in d.variants}:
        err_console.print(f"note: no deployment served here has a variant {variant!r}; serving them as stored")
    err_console.print(f"serving {', '.join(names) if names else 'all deployments'} on http://{host}:{port}")
    serve_deployments(services, names, host=host, port=port, workers=workers, log_level=log_level, variant=variant)
