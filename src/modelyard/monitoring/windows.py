"""Where a monitor's windows come from, and how a window is held in bounded memory.

``WindowSource`` is the little a monitor needs from the inference log: the indexed segments of a
deployment (to find where the log starts and ends) and its rows by time window, streamed in
chunks. The serving context's ``InferenceLogReader`` has exactly this shape; the SDK hands it in,
so monitoring never imports serving. Log frames follow the inference log's layout
(``input.<feature>``, ``prediction``, ``probability``, ``latency_ms``, ``request_id``, ``row``,
``time_ms``; with feedback, ``label``).

Time windows are aligned to multiples of the window length (epoch-based: hourly windows start on
the hour), so results of different runs line up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from modelyard.domain.inference import InferenceSegment
from modelyard.errors import InvalidInput

INPUT_PREFIX = "input."


class WindowSource(Protocol):
    """Rows of a deployment's inference log by time window; see the module docstring."""

    def segments(self, deployment: str, start_ms: int, end_ms: int) -> list[InferenceSegment]:
        """The segments holding rows of ``deployment`` in ``[start_ms, end_ms)``, oldest first."""
        ...

    def read_window(
        self,
        deployment: str,
        start_ms: int,
        end_ms: int,
        columns: Sequence[str] | None = None,
        *,
        chunk_rows: int = ...,
        with_feedback: bool = ...,
    ) -> Iterator[pd.DataFrame]:
        """Rows with ``start_ms <= time_ms < end_ms`` in chunks of at most ``chunk_rows`` rows."""
        ...


def align_down(time_ms: int, window_ms: int) -> int:
    """The start of the window holding ``time_ms``."""
    return time_ms - time_ms % window_ms


def parse_duration(text: str) -> int:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"1d"`` (or bare milliseconds) as milliseconds."""
    units = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    raw = text.strip().lower()
    for suffix in ("ms", "s", "m", "h", "d"):
        if raw.endswith(suffix):
            number = raw[: -len(suffix)]
            break
    else:
        suffix, number = "ms", raw
    try:
        value = float(number)
    except ValueError:
        raise InvalidInput(f"cannot read {text!r} as a duration; write e.g. 30s, 15m, 1h or 1d") from None
    if value <= 0:
        raise InvalidInput(f"a duration must be positive, got {text!r}")
    return int(value * units[suffix])


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``input.<name>`` columns of a log frame, under their feature names."""
    cols = [c for c in frame.columns if str(c).startswith(INPUT_PREFIX)]
    return frame[cols].rename(columns=lambda c: str(c)[len(INPUT_PREFIX) :])


class ReservoirSample:
    """A uniform sample without replacement of at most ``max_rows`` rows from frames added in turn.

    Each row gets a random key; the ``max_rows`` smallest keys are kept (a bottom-k sample), so
    memory is bounded by ``max_rows`` plus one chunk, and a window smaller than the cap is kept
    whole. ``seen`` counts every row added.
    """

    def __init__(self, max_rows: int, *, seed: int = 0) -> None:
        if max_rows < 1:
            raise InvalidInput(f"a sample needs at least one row, got max_rows={max_rows}")
        self.max_rows = max_rows
        self.seen = 0
        self._rng = np.random.default_rng(seed)
        self._parts: list[pd.DataFrame] = []
        self._keys: list[np.ndarray] = []
        self._held = 0

    def add(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        self.seen += len(frame)
        self._parts.append(frame.reset_index(drop=True))
        self._keys.append(self._rng.random(len(frame)))
        self._held += len(frame)
        if self._held > 2 * self.max_rows:
            self._compact()

    def merge(self, other: ReservoirSample) -> None:
        """Add ``other``'s sample as if its rows had been added here, after this sample's.

        The smallest keys of both samples are the smallest keys of all rows both saw, so the
        result is a uniform sample of the union, each side weighted by the rows it saw. Both
        samples must have drawn their keys from different seeds.
        """
        if other.max_rows != self.max_rows:
            raise InvalidInput(f"cannot merge samples capped at {other.max_rows} and {self.max_rows} rows")
        self.seen += other.seen
        self._parts.extend(other._parts)
        self._keys.extend(other._keys)
        self._held += other._held
        if self._held > 2 * self.max_rows:
            self._compact()

    @property
    def sampled(self) -> bool:
        """Whether rows were left out (the window held more than ``max_rows``)."""
        return self.seen > self.max_rows

    def frame(self) -> pd.DataFrame:
        """The sample, in arrival order."""
        self._compact()
        return self._parts[0] if self._parts else pd.DataFrame()

    def _compact(self) -> None:
        if len(self._parts) <= 1 and self._held <= self.max_rows:
            return
        frame = pd.concat(self._parts, ignore_index=True)
        keys = np.concatenate(self._keys)
        if len(frame) > self.max_rows:
            keep = np.sort(np.argpartition(keys, self.max_rows - 1)[: self.max_rows])
            frame, keys = frame.iloc[keep].reset_index(drop=True), keys[keep]
        self._parts, self._keys, self._held = [frame], [keys], len(frame)
