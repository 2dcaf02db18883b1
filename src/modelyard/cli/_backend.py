"""How a command reaches the services: settings from the environment, the embedded backend."""

from __future__ import annotations

from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend, local_backend


def backend() -> LocalBackend:
    return local_backend(Settings.from_env())
