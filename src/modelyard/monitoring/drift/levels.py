"""The cells a categorical test compares: a window's level counts aligned with the reference's.

From a frame, or a profile holding every level, each reference level is a cell and every level the
reference never held is a cell of its own (reference count 0). A profile beyond its size budget
lists its most frequent levels and keeps the rest as one count with a Bloom filter of their labels
(``modelyard.domain.sketches``): the window's levels the filter rejects are still unseen cells;
the others are summed into one "tail" cell.

That tail needs care. A level is listed because its count *in the reference sample* reached the
cut, so the listed levels near the cut were, on average, lucky in the reference: their counts are
inflated and the tail's deflated, and an unchanged window then looks drifted (at 100,000 rows of a
5,000-level column, p ~ 0.001 where the frame path gives 0.6). For Poisson counts the excess is
exact: levels selected by ``count >= P`` overstate the listed total by ``P * E[#levels with count
== P]``. So the listed levels below a pooling point ``P`` join the tail, ``P`` being the lowest
listed count where that estimated excess is under half a standard deviation of the tail. Frequent
levels stay cells of their own; rare ones are compared together, without the bias.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from modelyard.monitoring.drift.chi2 import MIN_EXPECTED
from modelyard.monitoring.drift.reference import CategoricalReference

FloatArray = npt.NDArray[np.float64]

MAX_BIAS_SD = 0.5
"""The listed levels are pooled until the selection excess is at most this many tail standard deviations."""


@dataclass(frozen=True, kw_only=True)
class LevelCells:
    """Aligned counts: the reference's cells, then a tail cell (if any), then one cell per unseen level.

    ``unseen`` is ``None`` when the reference cannot tell an unseen level from one of its unlisted
    ones (a profile written before level sketches): such levels are then counted in the tail.
    ``mode`` is ``exact`` (every reference level a cell), ``tail_sketch`` or ``top_k`` (the old
    profiles); ``pooled`` is how many listed levels were compared within the tail.
    """

    reference: FloatArray
    current: FloatArray
    unseen: dict[str, int] | None
    mode: str
    pooled: int = 0


def level_cells(ref: CategoricalReference, current: Mapping[str, int]) -> LevelCells:
    """The cells of ``current`` (level -> count, most frequent first) against ``ref``."""
    prof = ref.profile
    if ref.counts is not None or prof.other_count == 0:
        levels = dict(zip(prof.values, prof.counts, strict=True)) if ref.counts is None else ref.counts
        unseen = {k: v for k, v in current.items() if k not in levels}
        return LevelCells(
            reference=np.asarray([*levels.values(), *(0 for _ in unseen)], dtype=np.float64),
            current=np.asarray([*(current.get(k, 0) for k in levels), *unseen.values()], dtype=np.float64),
            unseen=unseen,
            mode="exact",
        )
    kept = boundary_cut(prof.counts, prof.other_count)
    apart = dict(zip(prof.values[:kept], prof.counts[:kept], strict=True))
    listed = set(prof.values)
    labels = prof.unseen_levels([k for k in current if k not in listed])
    told = None if labels is None else {k: current[k] for k in labels}
    tail_ref = sum(prof.counts[kept:]) + prof.other_count
    # an unseen level too rare for a cell of its own joins the tail, as the frame path pools it with
    # the reference's rare levels: apart, the few rows of each new id of a many-level column would
    # add up to a cell the reference has nothing in, although such rows are expected (about the
    # share of the reference's levels seen once, Good-Turing)
    n_ref, n_cur = prof.value_count, sum(current.values())
    sparse_below = MIN_EXPECTED * (n_ref + n_cur) / max(n_ref, 1)
    new = {k: v for k, v in (told or {}).items() if v >= sparse_below}
    tail_cur = sum(v for k, v in current.items() if k not in apart and k not in new)
    return LevelCells(
        reference=np.asarray([*apart.values(), tail_ref, *(0 for _ in new)], dtype=np.float64),
        current=np.asarray([*(current.get(k, 0) for k in apart), tail_cur, *new.values()], dtype=np.float64),
        unseen=told,
        mode="tail_sketch" if prof.tail_sketch is not None else "top_k",
        pooled=len(prof.values) - kept,
    )


def boundary_cut(counts: Sequence[int], other_count: int) -> int:
    """How many of a truncated profile's listed levels (``counts``, descending) stay cells of their own.

    The rest are pooled with the ``other_count`` tail: see the module docstring for why and where.
    ``E[#levels with count == P]`` is estimated with a Poisson kernel on the listed counts, and the
    tail's spread is that of its count in two samples of the reference's size.
    """
    values = np.asarray(counts, dtype=np.float64)
    ascending = values[::-1]
    below = np.concatenate(([0.0], np.cumsum(ascending)))  # below[i]: total of the i smallest listed counts
    for point in np.unique(ascending):
        start = int(np.searchsorted(ascending, point, side="left"))
        excess = float(point * stats.poisson.pmf(point, np.maximum(ascending, 1.0)).sum())
        tail = other_count + float(below[start])
        if excess <= MAX_BIAS_SD * math.sqrt(2.0 * max(tail, 1.0)):
            return int(values.size - start)
    return 0
