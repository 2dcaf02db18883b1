"""Monitoring wired to a backend: monitors read the inference log and resolve dataset references.

Monitoring is a service of its own and imports neither serving nor data; this module joins them:
the inference log's reader is the monitors' ``WindowSource``, and a ``datasets:/`` reference is
resolved to its stored profile (``Reference.from_profile``), so a monitor never reloads the
training data. For monitor runs on Ray, a ``LogSegmentReader`` (URIs only, so it pickles) opens the
same reader inside each Ray task. Actions of alert rules that need a layer above the SDK (running a pipeline) are
passed in as an ``ActionRunner`` by the CLI.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.inference import InferenceSegment
from modelyard.domain.monitoring import Monitor
from modelyard.errors import InvalidInput
from modelyard.explain import AttributionBaseline, baseline, explainer_for, model_inputs
from modelyard.monitoring import (
    ActionRunner,
    AlertService,
    MonitorService,
    distributions,
    drift_report,
    monitor_report,
)
from modelyard.monitoring.drift import DatasetDrift, DriftThresholds, Reference, detect_drift
from modelyard.sdk.backends.local import LocalBackend
from modelyard.serving.inference_reader import InferenceLogReader
from modelyard.store.artifacts import ArtifactStore
from modelyard.store.db import Database


def monitoring(
    backend: LocalBackend,
    *,
    action_runner: ActionRunner | None = None,
    clock: Clock = SYSTEM_CLOCK,
    ray_address: str | None = None,
) -> MonitorService:
    """The monitor service (its ``alerts`` attribute is the alert service) over ``backend``'s store.

    ``ray_address`` is the Ray cluster of ``run(..., executor="ray")`` (default: the settings').
    """
    settings = backend.settings
    actor = settings.user
    alerts = AlertService(backend.db, clock=clock, actor=actor, action_runner=action_runner)
    return MonitorService(
        backend.db,
        backend.inference_log,
        reference_loader(backend),
        alerts=alerts,
        clock=clock,
        actor=actor,
        segment_reader=LogSegmentReader(
            settings.store_uri, settings.artifact_uri, dict(settings.artifact_storage_options())
        ),
        ray_address=ray_address or settings.ray_address,
        attribution=attribution_loader(backend),
    )


def attribution_loader(backend: LocalBackend) -> Callable[[Monitor], AttributionBaseline]:
    """A monitor's explainer (of its ``explain_model``) and its shares on the reference dataset's rows.

    The reference rows are loaded (a sample of them is explained); cached per model and reference,
    which never change under a fixed version and digest.
    """

    @functools.lru_cache(maxsize=8)
    def load(model_uri: str, reference: str) -> AttributionBaseline:
        if not model_uri.startswith("models:/"):
            raise InvalidInput(f"a monitor explains a registered model version (models:/name/N), not {model_uri!r}")
        predictor = backend.model_resolver.load(model_uri)
        rows = backend.datasets.load(reference)
        explainer = explainer_for(predictor, model_inputs(predictor, rows))
        return baseline(explainer, rows)

    def for_monitor(monitor: Monitor) -> AttributionBaseline:
        return load(str(monitor.explain_model), monitor.reference)

    return for_monitor


@dataclass(frozen=True)
class LogSegmentReader:
    """Reads inference log segments where it is called (a Ray task), from the store and artifact URIs.

    It carries URIs, not open connections, so it pickles to Ray workers; each worker process
    opens the store once and reuses it for every task it runs.
    """

    store_uri: str
    artifact_uri: str
    storage_options: dict[str, Any] = field(default_factory=dict)

    def __call__(
        self, segments: Sequence[InferenceSegment], start_ms: int, end_ms: int, chunk_rows: int
    ) -> Iterator[pd.DataFrame]:
        return self._reader().read_segments(segments, start_ms, end_ms, chunk_rows=chunk_rows, with_feedback=True)

    def _reader(self) -> InferenceLogReader:
        key = (self.store_uri, self.artifact_uri, repr(sorted(self.storage_options.items())))
        with _readers_lock:
            reader = _readers.get(key)
            if reader is None:
                store = ArtifactStore(self.artifact_uri, **self.storage_options)
                reader = _readers[key] = InferenceLogReader(Database(self.store_uri), store)
            return reader


_readers: dict[tuple[str, str, str], InferenceLogReader] = {}
_readers_lock = threading.Lock()


def reference_loader(backend: LocalBackend) -> Callable[[str], Reference]:
    """``datasets:/name@digest`` -> the drift reference of its stored profile (cached: versions never change)."""

    @functools.lru_cache(maxsize=32)
    def load(uri: str) -> Reference:
        if not uri.startswith("datasets:/"):
            raise InvalidInput(f"a monitor's reference is a dataset version (datasets:/name@digest), not {uri!r}")
        return Reference.from_profile(backend.datasets.resolve(uri).profile)

    return load


def write_monitor_report(
    backend: LocalBackend, deployment: str, out: str | Path, *, clock: Clock = SYSTEM_CLOCK
) -> Path:
    """Write the HTML report of every monitor of ``deployment`` to ``out``."""
    service = monitoring(backend, clock=clock)
    monitors = service.list(deployment)
    if not monitors:
        raise InvalidInput(f"deployment {deployment!r} has no monitor; create one with: modelyard monitor create")
    sections = [(m, service.results(m.name, limit=500), DriftThresholds(**m.thresholds)) for m in monitors]
    alerts = service.alerts.list(deployment=deployment, active=True)
    html = monitor_report(deployment, sections, alerts, generated_ms=clock.now_ms())
    path = Path(out)
    path.write_text(html, encoding="utf-8")
    return path


def datasets_drift(
    backend: LocalBackend, reference: str, current: str, *, thresholds: DriftThresholds | None = None
) -> tuple[DatasetDrift, str]:
    """Drift of the dataset version ``current`` against ``reference`` (both ``datasets:/`` URIs), and its HTML report.

    The reference is read from its stored profile; the current version is loaded, so the
    comparison is exact for PSI and the categorical tests, and KS/Wasserstein use the profile's
    percentile sketch.
    """
    ref_version = backend.datasets.resolve(reference)
    ref = Reference.from_profile(ref_version.profile)
    cur_version = backend.datasets.resolve(current)
    names = [n for n in ref.names if n in {c.name for c in cur_version.columns}]
    if not names:
        raise InvalidInput(f"{reference} and {current} share no column")
    frame = backend.datasets.load(cur_version, names)
    drift = detect_drift(ref, frame, thresholds=thresholds or DriftThresholds(), columns=names)
    title = f"drift: {ref_version.name}@{ref_version.digest[:12]} -> {cur_version.name}@{cur_version.digest[:12]}"
    return drift, drift_report(title, drift, distributions(ref, frame, names))


__all__ = [
    "LogSegmentReader",
    "attribution_loader",
    "datasets_drift",
    "monitoring",
    "reference_loader",
    "write_monitor_report",
]
