"""How a command reaches the services: settings from the environment, then the embedded backend,
or a modelyard server's REST API when ``MODELYARD_TRACKING_URI`` is an http(s) URL."""

from __future__ import annotations

from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend
from modelyard.sdk.backends.rest import open_backend


def backend() -> LocalBackend:
    return open_backend(Settings.from_env())
