"""A daemon thread that calls a function every few seconds until stopped.

The plan reloader and the canary watcher both tick beside a running server; a tick that raises is
logged and the next one tries again, so a briefly unreachable store never stops either of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Ticker:
    """Calls ``tick`` every ``interval_s`` seconds on a daemon thread between ``start`` and ``stop``."""

    def __init__(self, tick: Callable[[], object], *, interval_s: float, name: str) -> None:
        self._tick = tick
        self._interval = interval_s
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._tick()
            except Exception:  # keep what is in force; try again next tick
                logger.warning("%s: tick failed; trying again next tick", self._name, exc_info=True)
