"""SIGTERM ends this process's runs KILLED, with every buffered metric stored.

Kubernetes, Ray, SLURM and CI runners stop work with SIGTERM, and Python's default action for it
kills the interpreter without running ``atexit``: buffered metrics would be lost and runs left
``RUNNING`` until the heartbeat timeout. The first run this process starts installs a handler that
runs the registered callbacks (end the runs KILLED, drain the writers), then hands the signal on:
to the handler that was installed before (the user's, which may exit or carry on), or, when there
was none, to the default action, so the process still ends as killed by SIGTERM.

A handler installed later replaces this one, as with any signal; a process that ignores SIGTERM
(``SIG_IGN``) keeps ignoring it. Signals can only be handled on the main thread, so a process
whose first run starts on another thread gets no handler (``atexit`` still drains on exit).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

_callbacks: list[Callable[[], None]] = []
_previous: Any = None
_installed = False
_lock = threading.Lock()


def on_sigterm(callback: Callable[[], None]) -> None:
    """Run ``callback`` when SIGTERM arrives (callbacks run in the order registered)."""
    with _lock:
        if callback not in _callbacks:
            _callbacks.append(callback)
    install()


def install() -> None:
    """Install the handler once, from the main thread, unless SIGTERM is ignored."""
    global _installed, _previous
    with _lock:
        if _installed or threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if previous is signal.SIG_IGN:
            return
        _previous = previous
        signal.signal(signal.SIGTERM, _handle)
        _installed = True


def _handle(signum: int, frame: FrameType | None) -> None:
    for callback in list(_callbacks):
        try:
            callback()
        except Exception as exc:  # the process is stopping: report, then go on with the others
            log.error("modelyard could not finish cleanly on SIGTERM: %s", exc)
    previous = _previous
    if callable(previous):
        previous(signum, frame)
        return
    # The default action: terminate as killed by the signal, as if modelyard had not been there.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _forget_after_fork() -> None:
    # A forked child keeps the handler (signal dispositions survive fork) but not our callbacks'
    # state, which each owner resets for itself.
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
