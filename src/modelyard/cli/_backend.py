"""How a command reaches the services: settings from the environment, then the embedded backend,
or a modelyard server's REST API when ``MODELYARD_TRACKING_URI`` is an http(s) URL."""

from __future__ import annotations

from modelyard.cli._output import err_console
from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend
from modelyard.sdk.backends.opening import open_backend


def backend(*, create: bool = False) -> LocalBackend:
    """The store the environment names; it must exist unless the command writes (``create=True``).

    A mistyped ``MODELYARD_HOME`` or ``MODELYARD_STORE_URI`` must not silently become a new empty
    store: reading commands end with "no modelyard store at ...", and a writing command that does
    create one says where, once.
    """
    opened = open_backend(Settings.from_env(), create=create)
    created = isinstance(opened, LocalBackend) and opened.created  # a server's store is the server's business
    if created and opened.db.safe_url not in _announced:
        _announced.add(opened.db.safe_url)
        err_console.print(f"created a new modelyard store at {opened.db.safe_url}", soft_wrap=True)
    return opened


_announced: set[str] = set()  # stores this process said it created (one `main()` may open one twice)
