"""The SDK: the fluent API over an active run, and the explicit ``Client``."""

from modelyard.sdk.client import Client as Client
from modelyard.sdk.fluent import ActiveRun as ActiveRun

__all__ = ["ActiveRun", "Client"]
