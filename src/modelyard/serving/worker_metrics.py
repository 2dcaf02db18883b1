"""Prometheus metrics across ``--workers N``: one exposition summing every worker, whichever answers.

Workers share one port, so a scrape of ``/metrics`` reaches one of them at random. Per-worker
series would make counters jump up and down between scrapes (and ``deployments status --url``
read one worker's share), so with several workers the server runs ``prometheus_client``'s
multiprocess mode: each worker's values live in memory-mapped files in one directory (one file per
pid), and ``/metrics`` on any worker renders their sum (counters and histograms add up).

``enable`` must run before the app's ``ServingMetrics`` are made, and before forking, so every
series is file-backed; each worker's own values stay readable in-process (the canary watcher reads
its worker's error counters, and judges its worker's share of the canary's traffic).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"

_directory: Path | None = None
_owned = False


def enable(directory: str | Path | None = None) -> Path:
    """Switch this process (and the workers it forks) to file-backed metrics; returns the folder.

    Uses ``directory``, else ``$PROMETHEUS_MULTIPROC_DIR``, else a new temporary folder that
    ``disable`` removes. Calling it again returns the folder already in use.
    """
    global _directory, _owned
    if _directory is not None:
        return _directory
    given = directory or os.environ.get(ENV_VAR)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="modelyard-metrics-"))
        _owned = True
    os.environ[ENV_VAR] = str(folder)  # read by prometheus_client when a worker opens its file
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]  # file-backed from now on
    _directory = folder
    return folder


def directory() -> Path | None:
    """The folder of the workers' metric files, or ``None`` when each process keeps its own."""
    return _directory


def render() -> bytes:
    """The text exposition of every worker's series, summed (``enable`` must have run)."""
    if _directory is None:
        raise RuntimeError("multiprocess metrics are not enabled")
    registry = CollectorRegistry(auto_describe=True)
    MultiProcessCollector(registry, path=str(_directory))  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def disable() -> None:
    """Back to in-process values; removes the folder if ``enable`` created it."""
    global _directory, _owned
    if _directory is None:
        return
    values.close_all_multiprocess_files()  # type: ignore[no-untyped-call]
    values.ValueClass = values.MutexValue
    if _owned:
        shutil.rmtree(_directory, ignore_errors=True)
    if os.environ.get(ENV_VAR) == str(_directory):
        del os.environ[ENV_VAR]
    _directory = None
    _owned = False
