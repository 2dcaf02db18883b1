"""Where the SDK's calls go: in-process services over the local store (the embedded default), or
a modelyard server's REST API (``MODELYARD_TRACKING_URI=http(s)://…``); ``open_backend`` picks.

``RestBackend`` is imported on first use: the embedded path never pays for the HTTP client.
"""

from typing import TYPE_CHECKING, Any

from modelyard.sdk.backends.local import LocalBackend as LocalBackend
from modelyard.sdk.backends.local import local_backend as local_backend
from modelyard.sdk.backends.opening import open_backend as open_backend

if TYPE_CHECKING:
    from modelyard.sdk.backends.rest import RestBackend as RestBackend

__all__ = ["LocalBackend", "RestBackend", "local_backend", "open_backend"]


def __getattr__(name: str) -> Any:
    if name == "RestBackend":
        from modelyard.sdk.backends.rest import RestBackend  # lazy: see the module docstring

        return RestBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
