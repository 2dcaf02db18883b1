"""The SDK: the fluent API over an active run, and the explicit ``Client``.

The names are imported on first use (PEP 562): the CLI reaches ``modelyard.sdk.backends`` without
loading the client's model and dataset code (pandas), which would double a command's start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.sdk.client import Client as Client
    from modelyard.sdk.fluent import ActiveRun as ActiveRun

_SOURCES = {"Client": "modelyard.sdk.client", "ActiveRun": "modelyard.sdk.fluent"}

__all__ = ["ActiveRun", "Client"]


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module 'modelyard.sdk' has no attribute {name!r}")
    return getattr(importlib.import_module(_SOURCES[name]), name)
