"""What a valid key and value are, checked before anything is buffered or stored.

The limits are MLflow's, so data moves between the two without truncation surprises.
"""

from __future__ import annotations

import numbers
from typing import Any

from modelyard.errors import InvalidInput
from modelyard.names import KEY, check_name

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_RUN_NAME_LENGTH = 250
MAX_EXPERIMENT_NAME_LENGTH = 256


def validate_key(kind: str, key: Any) -> str:
    """A metric, param or tag key: letters, digits, ``_ - . / : space``, at most 250 characters."""
    return check_name(
        f"{kind} key",
        key,
        max_length=MAX_KEY_LENGTH,
        pattern=KEY,
        allowed="use only letters, digits, '_', '-', '.', '/', ':' and spaces",
    )


def validate_metric_value(key: str, value: Any) -> float:
    """A real number (NaN and infinities allowed and kept); bools and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(f"metric {key!r} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def validate_step(key: str, step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidInput(f"step of metric {key!r} must be an integer, got {step!r}")
    return int(step)


def validate_timestamp(key: str, timestamp: Any) -> int:
    if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Integral):
        raise InvalidInput(f"timestamp of metric {key!r} must be integer epoch milliseconds, got {timestamp!r}")
    return int(timestamp)


def param_value(key: str, value: Any) -> str:
    """Params are stored as text, as MLflow does; ``None`` becomes ``'None'`` there too."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidInput(
            f"param {key!r} value is {len(text)} characters; the limit is {MAX_PARAM_VALUE_LENGTH} "
            "(log long values as an artifact)"
        )
    return text


def tag_value(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidInput(f"tag {key!r} value is {len(text)} characters; the limit is {MAX_TAG_VALUE_LENGTH}")
    return text


def validate_name(kind: str, name: Any, limit: int) -> str:
    """An experiment or run name: any printable text up to ``limit`` characters."""
    return check_name(f"{kind} name", name, max_length=limit)
