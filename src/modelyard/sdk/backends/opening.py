"""Which backend a process talks to, chosen from its settings.

Kept apart from the REST backend so that the embedded path (every CLI command on a laptop) never
imports the HTTP client and the remote data helpers (pandas, pyarrow): they load only for a
server URL.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, cast

from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend, local_backend

if TYPE_CHECKING:
    from modelyard.sdk.backends.rest import RestBackend

_remote: dict[Settings, RestBackend] = {}
_lock = threading.Lock()


def open_backend(settings: Settings, *, create: bool = True) -> LocalBackend:
    """The backend ``settings`` name: a ``RestBackend`` for a server URL, else the embedded one.

    Typed as ``LocalBackend`` because ``RestBackend`` carries the same service attributes with
    the same method signatures (the parity suite runs one set of tests against both).
    """
    if not settings.is_remote:
        return local_backend(settings, create=create)
    from modelyard.sdk.backends.rest import RestBackend  # lazy: only a client of a server pays for it

    with _lock:
        backend = _remote.get(settings)
        if backend is None:
            backend = _remote[settings] = RestBackend.open(settings)
    return cast(LocalBackend, backend)
