"""The team server: the REST API (``/api/v1``) over one store, with real authentication.

``create_app(settings)`` builds the FastAPI app; ``modelyard server`` runs it (``cli/server.py``).
"""

from modelyard.server.app import create_app as create_app

__all__ = ["create_app"]
