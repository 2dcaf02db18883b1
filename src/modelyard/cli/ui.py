"""``modelyard ui``: the web interface over the embedded store, for one person on this machine.

It binds 127.0.0.1 only and has no login: it acts as the configured user (``MODELYARD_USER`` or
the OS user), exactly as the CLI does. A team shares one ``modelyard server``, which serves the
same pages at ``/`` behind its login.
"""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from modelyard.cli._backend import backend
from modelyard.cli._output import err_console
from modelyard.errors import InvalidInput
from modelyard.serving.runner import bind_socket
from modelyard.ui import create_ui_app


def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 to serve the pages on.")] = 5080,
) -> None:
    """Serve the web UI of the embedded store on http://127.0.0.1:PORT (no login: this machine only)."""
    if not 0 <= port <= 65535:
        raise InvalidInput(f"--port must be within 0-65535, got {port}")
    services = backend()
    try:
        sock = bind_socket("127.0.0.1", port)
    except OSError as exc:
        raise InvalidInput(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; choose another --port") from exc
    err_console.print(f"modelyard UI on http://127.0.0.1:{sock.getsockname()[1]} as {services.settings.user}")
    app = create_ui_app(services.settings, services)
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
