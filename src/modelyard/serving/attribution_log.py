"""Attributions of a sample of answered requests, written to the inference log beside their rows.

A deployment's ``explain_sample`` (0-1, ``modelyard deployments explain-sample NAME --rate``) is
the share of its answered requests whose SHAP attributions the inference log keeps. Nothing
happens on the response path: the log's writer thread, while it builds a segment, draws each
answered request of such a deployment with that probability and explains the drawn ones with the
explainer the explain endpoint uses (``ExplainerCache``: built once per loaded model, shared), so
a logged attribution equals the one ``POST /v1/deployments/{name}/explain`` answers for the same
rows. Columns added to the segment, after the log's own (``inference_log``)::

    attribution.<feature>   float64 per input feature the model takes: its attribution
    attribution_base        float64: the explainer's base value (base + the row's attributions
                            = the explained output: a probability, log-odds, a regression output)

Rows of requests not drawn, failed, or answered by a model the plan no longer serves are null; a
segment without a single explained row has no such columns (the reader returns them as nulls
when asked for).

Falling behind: before each explainer call the writer looks at its queue; when a whole segment's
worth of requests (``batch_rows``) is already waiting, it stops explaining that segment: the
drawn requests left are written without attributions and counted (``dropped``, and the server's
``modelyard_explain_log_dropped_total``), as shadow copies are when shadows fall behind. A failing
explanation leaves its rows null and is counted in ``failed``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from modelyard.domain.inference import ATTRIBUTION_BASE, ATTRIBUTION_PREFIX
from modelyard.errors import NotFound
from modelyard.explain import Explainer
from modelyard.serving.explainers import ExplainerCache
from modelyard.serving.log_columns import ColumnBlock
from modelyard.serving.plan import PlanHolder, Variant
from modelyard.serving.requests_log import ServedRequest
from modelyard.serving.rows import Inputs, Rows, frame_of

logger = logging.getLogger(__name__)

BASE_COLUMN = ATTRIBUTION_BASE
CHUNK_ROWS = 256  # rows explained between two looks at the writer's queue
CALL_ROWS = 1
"""Rows per call of an exact explainer. shap's tree explainer holds the GIL for a whole call (a
256-row call of a 100-tree forest stopped every other thread of the process for 0.6-1.2 s), so
the writer explains row by row: the event loop waits at most one row's explanation (~2 ms for
that forest) for the GIL, never a segment's. Exact attributions do not depend on their batch."""


@dataclass(frozen=True)
class _Job:
    """One drawn request: where its rows start in the segment, and its inputs."""

    start: int
    inputs: Inputs
    deployment: str

    def rows(self) -> pd.DataFrame:
        return frame_of(self.inputs)


class AttributionSampler:
    """Draws and explains answered requests for the inference log's writer (one thread)."""

    def __init__(
        self,
        holder: PlanHolder,
        explainers: ExplainerCache,
        *,
        rng: Callable[[], float] = random.random,
        on_dropped: Callable[[str, int], None] | None = None,
    ) -> None:
        self._holder = holder
        self._explainers = explainers
        self._rng = rng
        self._on_dropped = on_dropped
        self.explained = 0  # requests whose attributions were written
        self.dropped = 0  # drawn requests left without attributions because the writer was behind
        self.failed = 0  # drawn requests whose explanation raised

    def for_records(
        self, records: Sequence[ServedRequest], counts: np.ndarray, behind: Callable[[], bool]
    ) -> dict[str, pa.Array]:
        """Attribution columns for a segment of ``records`` (``counts``: rows per record), or none."""
        starts = np.cumsum(counts) - counts
        jobs = _Jobs()
        for record, start in zip(records, starts, strict=True):
            if record.failed or len(record.inputs) == 0:
                continue
            variant = self._drawn(record.deployment, record.variant, record.model_version)
            if variant is not None:
                jobs.add(variant, _Job(int(start), record.inputs, record.deployment))
        return self._columns(jobs, int(counts.sum()), behind)

    def for_block(self, block: ColumnBlock, behind: Callable[[], bool]) -> dict[str, pa.Array]:
        """Attribution columns for a block of column arrays, or none."""
        inputs = block.input_rows()
        jobs = _Jobs()
        start = 0
        for n, code in zip(block.counts, block.variant, strict=True):
            name, version = block.variants[code]
            variant = self._drawn(block.deployment, name, version)
            if variant is not None:
                values = inputs[start : start + n]
                jobs.add(variant, _Job(start, Rows(values, block.columns), block.deployment))
            start += n
        return self._columns(jobs, block.rows, behind)

    def _drawn(self, deployment: str, variant_name: str, version: str) -> Variant | None:
        """The variant that answered, when its deployment explains a sample and this request is drawn."""
        try:
            plan = self._holder.current.get(deployment)
            variant = plan.variant(variant_name)
        except NotFound:
            return None
        except Exception:  # a deployment not ready: nothing to explain with
            return None
        rate = plan.explain_sample
        if rate <= 0.0 or variant.model_version != version:
            return None  # the plan moved on since this was served: leave it unknown rather than guess
        return variant if self._rng() < rate else None

    def _columns(self, jobs: _Jobs, total: int, behind: Callable[[], bool]) -> dict[str, pa.Array]:
        if not jobs.groups:
            return {}
        columns = _Columns(total)
        pending = [job for _, group in jobs.groups for job in group]
        done = 0
        for variant, group in jobs.groups:
            try:
                explainer = self._explainers.get(variant.predictor)
            except Exception:
                logger.warning("no explainer for %s: its logged requests stay unexplained", variant.model_version,
                               exc_info=True)  # fmt: skip
                self.failed += len(group)
                done += len(group)
                continue
            size = CHUNK_ROWS if explainer.exact else 1  # a sampled explainer draws per call: one request each
            index = 0
            while index < len(group):
                if behind():
                    self._drop(pending[done:])
                    return columns.arrays()
                chunk = [group[index]]
                rows = len(chunk[0].rows())
                while explainer.exact and index + len(chunk) < len(group) and rows < size:
                    chunk.append(group[index + len(chunk)])
                    rows += len(chunk[-1].rows())
                self._explain(explainer, chunk, columns)
                index += len(chunk)
                done += len(chunk)
        return columns.arrays()

    def _explain(self, explainer: Explainer, chunk: Sequence[_Job], columns: _Columns) -> None:
        frames = [job.rows() for job in chunk]
        try:
            conformed = explainer.conform(frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True))
            step = CALL_ROWS if explainer.exact else len(conformed)  # a sampled explainer draws per call
            parts = [explainer.explain_conformed(conformed.iloc[i : i + step]) for i in range(0, len(conformed), step)]
        except Exception:
            logger.warning("explaining %d logged request(s) failed", len(chunk), exc_info=True)
            self.failed += len(chunk)
            return
        attributions = parts[0]
        values = np.concatenate([np.asarray(p.values, dtype=np.float64) for p in parts])
        offset = 0
        for job, frame in zip(chunk, frames, strict=True):
            rows = slice(job.start, job.start + len(frame))
            for position, name in enumerate(attributions.features):
                columns.put(f"{ATTRIBUTION_PREFIX}{name}", rows, values[offset : offset + len(frame), position])
            columns.put(BASE_COLUMN, rows, attributions.base_value)
            offset += len(frame)
        self.explained += len(chunk)

    def _drop(self, left: Sequence[_Job]) -> None:
        self.dropped += len(left)
        by_deployment: dict[str, int] = {}
        for job in left:
            by_deployment[job.deployment] = by_deployment.get(job.deployment, 0) + 1
        logger.warning("the inference log is behind: %d drawn request(s) logged without attributions", len(left))
        if self._on_dropped is not None:
            for deployment, count in by_deployment.items():
                self._on_dropped(deployment, count)


class _Jobs:
    """Drawn requests grouped by the variant that answered them, in arrival order."""

    def __init__(self) -> None:
        self.groups: list[tuple[Variant, list[_Job]]] = []
        self._index: dict[int, int] = {}

    def add(self, variant: Variant, job: _Job) -> None:
        position = self._index.get(id(variant))
        if position is None:
            position = self._index[id(variant)] = len(self.groups)
            self.groups.append((variant, []))
        self.groups[position][1].append(job)


class _Columns:
    """Attribution columns of one segment, each null where no row of it was explained."""

    def __init__(self, total: int) -> None:
        self._total = total
        self._values: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def put(self, name: str, rows: slice, values: np.ndarray | float) -> None:
        found = self._values.get(name)
        if found is None:
            found = self._values[name] = (np.zeros(self._total, np.float64), np.zeros(self._total, np.bool_))
        found[0][rows] = values
        found[1][rows] = True

    def arrays(self) -> dict[str, pa.Array]:
        """Features first (in the model's order), then the base value; nothing when no row was explained."""
        names = [n for n in self._values if n != BASE_COLUMN] + ([BASE_COLUMN] if BASE_COLUMN in self._values else [])
        return {
            name: pa.array(values, pa.float64(), mask=None if known.all() else ~known)
            for name in names
            for values, known in [self._values[name]]
        }


def with_attributions(table: pa.Table, columns: Callable[..., dict[str, pa.Array]], *args: object) -> pa.Table:
    """``table`` with the attribution columns ``columns(*args)`` appended; as given when there are
    none or they fail (the segment's requests are worth more than their attributions)."""
    try:
        for name, array in columns(*args).items():
            table = table.append_column(name, array)
    except Exception:
        logger.exception("attributions for an inference log segment failed; it is written without them")
    return table
