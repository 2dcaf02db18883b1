"""Fixtures of the data context: the embedded backend on each engine, and a sample frame."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.sdk.backends.local import LocalBackend


@pytest.fixture
def backend(settings: Settings) -> Iterator[LocalBackend]:
    """Services over a fresh store (SQLite and PostgreSQL) and a fresh artifact folder."""
    opened = LocalBackend.open(settings)
    yield opened
    opened.db.dispose()


@pytest.fixture
def make_frame() -> Callable[..., pd.DataFrame]:
    """Builds a churn-like frame (number, category, flag); the same arguments give the same frame."""
    return _make_frame


def _make_frame(seed: int = 0, n: int = 2_000, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
            "churned": rng.random(n) < 0.2,
        }
    )
