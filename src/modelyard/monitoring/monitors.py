"""Monitors: a deployment's inference log, window by window, against a reference.

``MonitorService.run`` picks up where the monitor's cursor stopped and processes every *finished*
window (a time window whose end has passed, or a row-count window that is full), storing one
``MonitorResult`` per window and moving the cursor in the same transaction, so a crash never
stores a window twice. Windows without rows are skipped, not stored.

Memory stays bounded whatever a window's size: the log is read in chunks and

- counts add up exactly across chunks: rows, requests, failed requests (the error and invalid
  rates), the classifier's confusion counts and the regressor's error sums (see ``performance``);
- drift, the latency percentiles and ROC AUC are computed on a uniform sample of the window
  capped at ``max_sample_rows`` (default 100,000; a result says ``sampled`` when the cap was hit).
  Drift is compared with the reference's stored profile (PSI and the categorical tests on exact
  reference counts, KS/Wasserstein on its percentile sketch).

At scale, ``run(name, executor="ray")`` computes each time window on Ray: the window's Parquet
segments are read by parallel tasks and their partial accumulations merged (``ray_windows``);
what is stored is the same.

The inference log records failed requests with their HTTP status: ``error_rate`` is the share of
requests the server failed (5xx: the model raised, a timeout), ``invalid_rate`` the share refused
as the caller's mistake (4xx), kept apart so bad input never reads as a broken model (see
``accumulate``). Segments from before the log had a status count null predictions as errors.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import logging
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.explain import ExplainerKind
from modelyard.domain.monitoring import Monitor, MonitorResult, Task
from modelyard.errors import AlreadyExists, InvalidInput, NotFound
from modelyard.explain import AttributionBaseline
from modelyard.explain.shift import shares_of_sums
from modelyard.governance import guarded
from modelyard.monitoring._governance import may_change, record
from modelyard.monitoring.accumulate import PREDICTION, WindowAccumulator
from modelyard.monitoring.alerts import AlertService
from modelyard.monitoring.drift import DatasetDrift, DriftThresholds, FeatureDrift, Reference, detect_drift
from modelyard.monitoring.ray_windows import RayWindows, SegmentReader
from modelyard.monitoring.reports import distributions
from modelyard.monitoring.windows import WindowSource, align_down, features
from modelyard.names import check_name
from modelyard.store.db import Database
from modelyard.store.repos import monitoring as rows
from modelyard.uris import parse_model_uri

logger = logging.getLogger(__name__)

ReferenceLoader = Callable[[str], Reference]
"""Turns a monitor's reference URI (``datasets:/name@digest``) into a drift ``Reference``."""

AttributionLoader = Callable[[Monitor], AttributionBaseline]
"""The explainer of a monitor's ``explain_model`` and its attribution shares on the reference rows."""

_Accumulate = Callable[[Monitor, int, int], WindowAccumulator]
"""Computes the window ``[start_ms, end_ms)`` of a monitor: here (``_accumulate``) or on Ray."""

CHUNK_ROWS = 50_000
_NAME = re.compile(r"[A-Za-z0-9][\w.\-]*")
_DETAIL_METRICS = {
    "psi": "psi",
    "ks": "ks_statistic",
    "ks_p_value": "ks_p_value",
    "wasserstein": "wasserstein_normalised",
    "js": "js",
    "tvd": "tvd",
    "chi2_p_value": "chi2_p_value",
    "out_of_range_share": "out_of_range_share",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class OpenWindow:
    """The window a monitor is waiting on, so a run that closed none can say what comes next.

    ``start_ms`` is ``None`` while the deployment has logged no request since the last window. A
    time window closes at ``end_ms``; a row window once ``rows`` (about: counted from the log's
    segments) reach ``every_rows``.
    """

    start_ms: int | None
    end_ms: int | None = None
    rows: int = 0
    every_rows: int | None = None


class MonitorService:
    """Creates monitors and runs them over the inference log (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        source: WindowSource,
        load_reference: ReferenceLoader,
        *,
        alerts: AlertService | None = None,
        clock: Clock = SYSTEM_CLOCK,
        actor: str = "",
        segment_reader: SegmentReader | None = None,
        ray_address: str | None = None,
        attribution: AttributionLoader | None = None,
    ) -> None:
        self._db = db
        self._attribution = attribution
        self._source = source
        self._load_reference = load_reference
        self._segment_reader = segment_reader  # what Ray tasks read segments with (executor="ray")
        self._ray_address = ray_address
        self.alerts = alerts or AlertService(db, clock=clock, actor=actor)
        self._clock = clock
        self._actor = actor

    # -- monitors ---------------------------------------------------------------------------------

    def create(
        self,
        name: str,
        deployment: str,
        reference: str,
        *,
        window_ms: int | None = None,
        every_rows: int | None = None,
        target: str | None = None,
        task: Task | str = Task.AUTO,
        thresholds: dict[str, Any] | None = None,
        start_ms: int | None = None,
        max_sample_rows: int = 100_000,
        explain_model: str | None = None,
    ) -> Monitor:
        """A new monitor; its reference is loaded now so a bad URI or column fails here, not later.

        ``start_ms`` is where the first window starts (default: the first logged row).
        ``explain_model`` (a ``models:/`` URI) adds each feature's attribution share and shift per
        window; its explainer is built now, so a model that cannot be explained fails here too.
        """
        check_name("monitor name", name, pattern=_NAME, allowed="use letters, digits, '_', '-' and '.'")
        th = _thresholds(thresholds or {})
        try:
            task = Task(task)
        except ValueError:
            raise InvalidInput(f"task must be one of {', '.join(t.value for t in Task)}, got {task!r}") from None
        ref = self._load_reference(reference)
        if target is not None and target not in ref.names:
            raise InvalidInput(f"the reference {reference} has no target column {target!r}", columns=list(ref.names))
        if window_ms is not None and start_ms is not None:
            start_ms = align_down(start_ms, window_ms)
        monitor = Monitor(
            name=name,
            deployment=deployment,
            reference=reference,
            window_ms=window_ms,
            every_rows=every_rows,
            target=target,
            task=task,
            thresholds={f.name: getattr(th, f.name) for f in dataclasses.fields(th)} if thresholds else {},
            cursor_ms=start_ms,
            max_sample_rows=max_sample_rows,
            created_ms=self._clock.now_ms(),
            created_by=self._actor,
            explain_model=explain_model,
        )
        if explain_model is not None:
            if self._attribution is None:
                raise InvalidInput("this monitor service computes no attributions: build it with sdk.monitoring")
            self._attribution(monitor)
        with guarded(self._db, self._clock) as conn:
            may_change(conn, self._clock, self._actor, deployment)
            if rows.get_monitor(conn, name) is not None:
                raise AlreadyExists(f"a monitor named {name!r} already exists")
            rows.add_monitor(conn, monitor)
            self._audit(conn, "monitor.created", name, {"deployment": deployment, "reference": reference})
        return monitor

    def get(self, name: str) -> Monitor:
        with self._db.read() as conn:
            monitor = rows.get_monitor(conn, name)
        if monitor is None:
            raise NotFound(f"no monitor named {name!r}")
        return monitor

    def list(self, deployment: str | None = None) -> list[Monitor]:
        with self._db.read() as conn:
            return rows.list_monitors(conn, deployment)

    def delete(self, name: str) -> None:
        monitor = self.get(name)
        with guarded(self._db, self._clock) as conn:
            may_change(conn, self._clock, self._actor, monitor.deployment)
            rows.delete_monitor(conn, name)
            self._audit(conn, "monitor.deleted", name, {"deployment": monitor.deployment})

    def _audit(self, conn: Any, action: str, name: str, details: dict[str, Any]) -> None:
        record(conn, self._clock, self._actor, action, object_kind="monitor", object_id=name, details=details)

    def results(self, name: str, *, limit: int | None = None, detail: bool = True) -> builtins.list[MonitorResult]:
        """Stored results of ``name``, oldest first (``limit``: the newest ones only)."""
        self.get(name)
        with self._db.read() as conn:
            return rows.results(conn, name, limit=limit, detail=detail)

    # -- running ----------------------------------------------------------------------------------

    def run(
        self, name: str, *, max_windows: int | None = None, executor: str = "local", ray_parts: int | None = None
    ) -> builtins.list[MonitorResult]:
        """Process every finished window since the cursor; returns the results stored, oldest first.

        ``executor="ray"`` computes each time window on Ray, its segments read by up to
        ``ray_parts`` tasks (default: the cluster's CPUs) and merged (see ``ray_windows``); the
        results are stored and alerted on as a local run's are.
        """
        monitor = self.get(name)
        with self._executor(monitor, executor, ray_parts) as accumulate:
            return self._run(monitor, accumulate, max_windows)

    @contextlib.contextmanager
    def _executor(self, monitor: Monitor, executor: str, ray_parts: int | None) -> Iterator[_Accumulate]:
        """How windows of ``monitor`` are computed: here, or on Ray (started, or reached, for the block)."""
        if executor == "local":
            yield self._accumulate
            return
        if executor != "ray":
            raise InvalidInput(f"a monitor runs with executor 'local' or 'ray', got {executor!r}")
        if self._segment_reader is None:
            raise InvalidInput("this monitor service reads no segments on Ray: build it with sdk.monitoring.monitoring")
        if not monitor.window_ms:
            raise InvalidInput(
                f"monitor {monitor.name!r} has row-count windows, whose ends depend on the rows before them; "
                "only time windows run on Ray (run it with the local executor)"
            )
        with RayWindows(
            self._segment_reader, address=self._ray_address, parts=ray_parts, chunk_rows=CHUNK_ROWS
        ) as ray_windows:

            def on_ray(monitor: Monitor, start_ms: int, end_ms: int) -> WindowAccumulator:
                segments = self._source.segments(monitor.deployment, start_ms, end_ms)
                return ray_windows.window(monitor, start_ms, end_ms, segments)

            yield on_ray

    def _run(self, monitor: Monitor, accumulate: _Accumulate, max_windows: int | None) -> builtins.list[MonitorResult]:
        reference = self._load_reference(monitor.reference)
        thresholds = _thresholds(monitor.thresholds)
        attribution = None
        if monitor.explain_model is not None and self._attribution is not None:
            attribution = self._attribution(monitor)
        now = self._clock.now_ms()
        out: builtins.list[MonitorResult] = []
        windows = self._time_windows(monitor, now, accumulate) if monitor.window_ms else self._row_windows(monitor, now)
        for window in windows:
            result = self._finish(monitor, window, reference, thresholds, attribution)
            with self._db.begin() as conn:
                stored_id = rows.add_result(conn, result)
                rows.set_cursor(conn, monitor.name, window.end_ms)
            result = dataclasses.replace(result, id=stored_id)
            out.append(result)
            self.alerts.evaluate(monitor, result)
            if max_windows is not None and len(out) >= max_windows:
                break
        return out

    def open_window(self, name: str) -> OpenWindow:
        """The window ``name`` waits on (see ``OpenWindow``)."""
        monitor = self.get(name)
        now = self._clock.now_ms()
        cursor = monitor.cursor_ms or 0
        later = self._source.segments(monitor.deployment, cursor, now + 1)
        if not later:
            return OpenWindow(start_ms=None, every_rows=monitor.every_rows)
        rows_seen = sum(s.row_count for s in later)
        if monitor.window_ms:
            start = max(cursor, align_down(later[0].start_ms, int(monitor.window_ms)))
            return OpenWindow(start_ms=start, end_ms=start + int(monitor.window_ms), rows=rows_seen)
        return OpenWindow(start_ms=max(cursor, later[0].start_ms), rows=rows_seen, every_rows=monitor.every_rows)

    def follow(
        self,
        name: str,
        *,
        interval_s: float = 30.0,
        stop: threading.Event | None = None,
        on_results: Callable[[builtins.list[MonitorResult]], None] | None = None,
        executor: str = "local",
    ) -> None:
        """Run ``name`` every ``interval_s`` seconds until ``stop`` is set (a failed run is logged, then retried).

        With ``executor="ray"``, Ray is started (or reached) once for the whole follow.
        """
        stop = stop or threading.Event()
        with self._executor(self.get(name), executor, None) as accumulate:
            while not stop.is_set():
                try:
                    found = self._run(self.get(name), accumulate, None)
                except (NotFound, InvalidInput):
                    raise
                except Exception:  # a store or log hiccup must not end a long-running follower
                    logger.exception("monitor %s: run failed; retrying in %.0fs", name, interval_s)
                    found = []
                if on_results is not None and found:
                    on_results(found)
                stop.wait(interval_s)

    def _accumulate(self, monitor: Monitor, start_ms: int, end_ms: int) -> WindowAccumulator:
        """The window ``[start_ms, end_ms)`` read here, chunk by chunk."""
        window = WindowAccumulator(monitor, start_ms, end_ms)
        for chunk in self._chunks(monitor, start_ms, end_ms):
            window.add(chunk)
        return window

    def _time_windows(self, monitor: Monitor, now: int, accumulate: _Accumulate) -> Iterator[WindowAccumulator]:
        width = int(monitor.window_ms or 0)
        cursor = monitor.cursor_ms
        while True:
            later = self._source.segments(monitor.deployment, cursor if cursor is not None else 0, now + 1)
            if not later:
                return
            first = align_down(later[0].start_ms, width)
            cursor = first if cursor is None else max(cursor, first)  # skip a gap without rows in one step
            if cursor + width > now:
                return
            window = accumulate(monitor, cursor, cursor + width)
            cursor += width
            if window.rows:
                yield window

    def _row_windows(self, monitor: Monitor, now: int) -> Iterator[WindowAccumulator]:
        every = int(monitor.every_rows or 0)
        start = monitor.cursor_ms if monitor.cursor_ms is not None else 0
        window = WindowAccumulator(monitor, start, start)
        for chunk in self._chunks(monitor, start, now + 1):
            while not chunk.empty:
                need = every - window.rows
                head, chunk = chunk.iloc[:need], chunk.iloc[need:]
                if monitor.cursor_ms is None and window.start_ms == 0:  # the first window starts at its first row
                    window.start_ms = int(head["time_ms"].min())
                window.add(head)
                if window.rows < every:
                    break
                end = int(head["time_ms"].max()) + 1
                same = chunk["time_ms"] < end  # rows sent in the same millisecond stay in this window
                window.add(chunk[same])
                chunk = chunk[~same]
                window.end_ms = end
                yield window
                window = WindowAccumulator(monitor, end, end)

    def _chunks(self, monitor: Monitor, start: int, end: int) -> Iterator[pd.DataFrame]:
        return self._source.read_window(monitor.deployment, start, end, chunk_rows=CHUNK_ROWS, with_feedback=True)

    def _finish(
        self,
        monitor: Monitor,
        window: WindowAccumulator,
        reference: Reference,
        thresholds: DriftThresholds,
        attribution: AttributionBaseline | None = None,
    ) -> MonitorResult:
        sample = window.sample.frame()
        feats = features(sample)
        names = [n for n in reference.names if n != monitor.target and n in feats.columns]
        metrics: dict[str, float] = {"rows": float(window.rows), "requests": float(window.requests)}
        drift_doc: dict[str, Any] = {"missing_features": [n for n in reference.names if n not in names]}
        dists: dict[str, Any] = {}
        if names:
            drift = detect_drift(reference, feats[names], thresholds=thresholds, columns=names)
            metrics.update(drift_metrics(drift))
            drift_doc.update(drift.to_dict())
            dists.update(distributions(reference, feats, names))
        if monitor.target and PREDICTION in sample.columns:
            predicted = sample[[PREDICTION]].rename(columns={PREDICTION: monitor.target})
            try:
                pred_drift = detect_drift(reference, predicted, thresholds=thresholds, columns=[monitor.target])
            except InvalidInput as exc:  # e.g. multi-output predictions against a scalar target
                drift_doc["prediction_drift_error"] = exc.message
            else:
                metrics.update(_feature_metrics(pred_drift.features[0], PREDICTION))
                drift_doc["prediction_drift"] = pred_drift.to_dict()
                dists.update({PREDICTION: distributions(reference, predicted, [monitor.target])[monitor.target]})
        if attribution is not None:
            logged = _logged_shares(monitor, attribution, window)
            metrics.update(_attribution_metrics(attribution, feats, drift_doc, logged))
        metrics.update(window.operational())
        metrics.update(window.performance())
        return MonitorResult(
            monitor=monitor.name,
            deployment=monitor.deployment,
            start_ms=window.start_ms,
            end_ms=window.end_ms,
            rows=window.rows,
            metrics={k: float(v) for k, v in metrics.items() if v is not None},
            drift=drift_doc,
            distributions=dists,
            sampled=window.sample.sampled,
            sample_rows=len(sample),
            created_ms=self._clock.now_ms(),
        )


def _logged_shares(
    monitor: Monitor, baseline: AttributionBaseline, window: WindowAccumulator
) -> tuple[dict[str, float], int] | None:
    """The window's attribution shares from what the server logged, and over how many rows.

    Only where they are the ones the monitor would compute: rows answered by the monitor's
    ``explain_model`` version, explained by a tree explainer (which uses no background rows, so
    the server's and the monitor's are the same); otherwise ``None`` and the monitor explains.
    """
    if baseline.explainer.kind is not ExplainerKind.TREE or monitor.explain_model is None:
        return None
    uri = parse_model_uri(monitor.explain_model)
    if uri.version is None:
        return None
    found = window.attributions.get(f"{uri.name}/{uri.version}")
    if found is None or not found[0] or set(found[1]) != set(baseline.shares):
        return None
    return shares_of_sums(found[1]), found[0]


def _attribution_metrics(
    baseline: AttributionBaseline,
    feats: pd.DataFrame,
    doc: dict[str, Any],
    logged: tuple[dict[str, float], int] | None = None,
) -> dict[str, float]:
    """``attribution_share(f)`` and ``attribution_shift(f)`` of the window; the figures go in ``doc``.

    From the attributions the server logged for the window when there are usable ones
    (``_logged_shares``: every explained row of the window), else from explaining the window's
    sample. A window whose rows the explainer cannot take (a feature missing from the log)
    records why and has no attribution metrics, like a window without labels has no accuracy.
    """
    if logged is not None:
        compared = {**baseline.compare_shares(*logged), "source": "logged"}
    else:
        try:
            compared = {**baseline.compare(feats), "source": "explained"}
        except InvalidInput as exc:
            doc["attribution_error"] = exc.message
            return {}
    doc["attribution"] = compared
    out = {f"attribution_share:{f}": v for f, v in compared["current"].items()}
    out.update({f"attribution_shift:{f}": v for f, v in compared["shift"].items()})
    return out


def drift_metrics(drift: DatasetDrift) -> dict[str, float]:
    """The flat numbers of a dataset drift run, keyed as alert rules name them."""
    out: dict[str, float] = {
        "share_drifted": drift.share_drifted,
        "drifted_count": float(len(drift.drifted_features)),
        "dataset_drifted": float(drift.dataset_drifted),
    }
    for feature in drift.features:
        out.update(_feature_metrics(feature, feature.feature))
    for missing in drift.missing:
        if "current_rate" in missing.details:
            out[f"missing_rate:{missing.feature}"] = float(missing.details["current_rate"])
            out[f"missing_change:{missing.feature}"] = float(missing.details["change"])
        if missing.drifted:
            out[f"drifted:{missing.feature}"] = 1.0
    return out


def _feature_metrics(f: FeatureDrift, name: str) -> dict[str, float]:
    out: dict[str, float] = {f"drifted:{name}": float(f.drifted)}
    if f.statistic is not None:
        out[f"statistic:{name}"] = float(f.statistic)
    if f.p_value is not None:
        out[f"p_value:{name}"] = float(f.p_value)
    if f.unseen_share is not None:
        out[f"unseen_share:{name}"] = float(f.unseen_share)
    for metric, key in _DETAIL_METRICS.items():
        value = f.details.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{metric}:{name}"] = float(value)
    return out


def _thresholds(values: dict[str, Any]) -> DriftThresholds:
    known = {f.name for f in dataclasses.fields(DriftThresholds)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidInput(f"unknown drift threshold(s): {', '.join(unknown)}", known=sorted(known))
    try:
        return DriftThresholds(**values)
    except TypeError as exc:
        raise InvalidInput(f"bad drift thresholds: {exc}") from None
