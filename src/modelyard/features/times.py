"""Times as the feature store keeps them: milliseconds since the epoch, UTC."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import pandas as pd

from modelyard.errors import InvalidInput

TimeLike: TypeAlias = datetime | pd.Timestamp | str | int


def to_ms(value: TimeLike) -> int:
    """Milliseconds since the epoch of a datetime (naive means UTC), an ISO string or a number of ms."""
    if isinstance(value, bool):
        raise InvalidInput(f"not a time: {value!r}")
    if isinstance(value, int):
        return value
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not a time: {value!r} ({exc})") from exc
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value // 1_000_000)
