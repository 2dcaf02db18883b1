"""Where the SDK's calls go: in-process services over the local store (the embedded default), or
a modelyard server's REST API (``MODELYARD_TRACKING_URI=http(s)://…``); ``open_backend`` picks."""

from modelyard.sdk.backends.local import LocalBackend as LocalBackend
from modelyard.sdk.backends.local import local_backend as local_backend
from modelyard.sdk.backends.rest import RestBackend as RestBackend
from modelyard.sdk.backends.rest import open_backend as open_backend

__all__ = ["LocalBackend", "RestBackend", "local_backend", "open_backend"]
