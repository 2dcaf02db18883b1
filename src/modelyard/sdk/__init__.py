"""The SDK: the fluent API over an active run, and the explicit ``Client``.

The names are imported on first use (PEP 562): the CLI reaches ``modelyard.sdk.backends`` without
loading the client's model and dataset code (pandas), which would double a command's start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.sdk.client import Client as Client
    from modelyard.sdk.fluent import ActiveRun as ActiveRun

__all__ = ["ActiveRun", "Client"]


__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface
