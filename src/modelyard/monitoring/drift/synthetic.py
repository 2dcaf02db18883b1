"""Seeded reference/current frames with known drift, for tests, demos and the benchmark.

The layout follows the project's drift notes (reference/drift.md, section 2), so numbers are
comparable with the Evidently measurements there: 20 numeric columns (8 normal, 6 lognormal,
6 Poisson counts) and 5 categorical ones (5/10/20/35/50 Zipf-distributed levels), 1 % missing
values in ``num_06`` of the reference. Injected in the current window:

- ``num_01`` normal +0.5 sd; ``num_09`` lognormal x1.16; ``num_15`` Poisson lambda 4 -> 4.4;
- ``cat_1`` top level 38 % -> 28 %; ``cat_3`` a new level ``"NEW"`` at 5 %;
- ``num_06`` missing rate 1 % -> 10 %, values unchanged (a missing-rate change only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DRIFTED_COLUMNS: tuple[str, ...] = ("num_01", "num_09", "num_15", "cat_1", "cat_3")
"""Columns whose value distribution changes in the current window."""
MISSING_RATE_COLUMN = "num_06"
"""The column whose missing rate (only) changes."""

_CATEGORY_LEVELS = (5, 10, 20, 35, 50)


def drift_frames(n_rows: int, *, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(reference, current)``, ``n_rows`` each, from independent draws of the same generator."""
    rng = np.random.default_rng(seed)
    return _frame(rng, n_rows, drifted=False), _frame(rng, n_rows, drifted=True)


def _frame(rng: np.random.Generator, n: int, *, drifted: bool) -> pd.DataFrame:
    cols: dict[str, object] = {}
    for i in range(20):
        name = f"num_{i:02d}"
        if i < 8:
            shift = 0.5 if drifted and name == "num_01" else 0.0
            cols[name] = rng.normal(10.0 * i + shift, 1.0 + i / 4, n)
        elif i < 14:
            scale = 1.16 if drifted and name == "num_09" else 1.0
            cols[name] = rng.lognormal(0.0, 0.5, n) * (i - 7) * scale
        else:
            lam = 4.4 if drifted and name == "num_15" else 4.0
            cols[name] = rng.poisson(lam + (i - 14) * 2 if name != "num_15" else lam, n).astype(np.int64)
    col06 = np.asarray(cols[MISSING_RATE_COLUMN], dtype=np.float64)
    col06[rng.random(n) < (0.10 if drifted else 0.01)] = np.nan
    cols[MISSING_RATE_COLUMN] = col06
    for j, k in enumerate(_CATEGORY_LEVELS):
        name = f"cat_{j}"
        probs = 1.0 / np.arange(1, k + 1) ** 1.1
        probs /= probs.sum()
        labels = np.array([f"{name}_l{m:02d}" for m in range(k)], dtype=object)
        if drifted and name == "cat_1":
            probs = _move_top_level(probs, 0.28)
        if drifted and name == "cat_3":
            probs = np.append(probs * 0.95, 0.05)
            labels = np.append(labels, "NEW")
        cols[name] = labels[rng.choice(labels.size, size=n, p=probs)]
    return pd.DataFrame(cols)


def _move_top_level(probs: np.ndarray, share: float) -> np.ndarray:
    out = probs.copy()
    rest = out[1:] / out[1:].sum()
    out[0] = share
    out[1:] = rest * (1.0 - share)
    return out
