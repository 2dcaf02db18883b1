"""The web interface: server-rendered pages over the same services the CLI and the SDK call.

Pages are Jinja2 templates rendered on the server, so they work with JavaScript off; only the
charts (plotly, shipped inside the ``plotly`` package, never from a CDN) need it. Every action is
an HTML form posted to a service call, so permissions are checked where they always are: in the
services. ``ui_router`` is mounted by the platform server at ``/``; ``create_ui_app`` serves the
embedded store on a laptop (``modelyard ui``: 127.0.0.1 only, no login).
"""

from modelyard.ui.app import create_ui_app as create_ui_app
from modelyard.ui.app import ui_router as ui_router

__all__ = ["create_ui_app", "ui_router"]
