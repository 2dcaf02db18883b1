"""Step cache keys: what must be unchanged for a stored output to be reused.

The key hashes the step's code (its source), its parameters (canonical JSON) and the digests of
its inputs (by argument name), plus a format version so a change of this rule invalidates old
entries. As in ZenML, changes outside these (files a step reads, an API it calls) are not seen:
such steps should be declared ``@step(cache=False)``.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

CACHE_KEY_VERSION = "1"


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data, so equal parameters hash equally (dataclasses by their fields)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__qualname__, **canonical(dataclasses.asdict(value))}
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((canonical(v) for v in value), key=repr)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def cache_key(*, source_hash: str, params: Mapping[str, Any], input_digests: Mapping[str, str]) -> str:
    """The SHA-256 of code, parameters and input digests."""
    payload = {
        "v": CACHE_KEY_VERSION,
        "code": source_hash,
        "params": canonical(params),
        "inputs": dict(sorted(input_digests.items())),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()
