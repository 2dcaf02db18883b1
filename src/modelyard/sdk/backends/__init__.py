"""Where the SDK's calls go: in-process services over the local store (the embedded default)."""

from modelyard.sdk.backends.local import LocalBackend as LocalBackend
from modelyard.sdk.backends.local import local_backend as local_backend

__all__ = ["LocalBackend", "local_backend"]
