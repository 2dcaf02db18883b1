"""The one check for every name a user chooses: experiments, runs, models, aliases, datasets,
deployments, variants, monitors, users, tag/param/metric keys and artifact paths.

A name is printed in tables, written in URIs and audit events, and used in file names, so every
kind refuses the same things: a value that is not text, an empty one, one longer than its limit,
and any control character (a NUL byte, a tab, a newline: ``m\\n`` would be a model no
``models:/`` URI can address, and a user ``bob\\nadmin0`` prints as two actors). A kind may also
restrict its characters with a pattern, which must match the *whole* name (``re.fullmatch``;
``$`` alone lets a trailing newline through). Every refusal is ``InvalidInput`` naming the kind.
"""

from __future__ import annotations

import re
from typing import Any

from modelyard.errors import InvalidInput

DEFAULT_MAX_LENGTH = 256
URI_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
"""Names written in ``models:/``, ``datasets:/`` URIs and deployment paths."""
KEY = re.compile(r"[\w\-. /:]+")
"""Metric, param and tag keys (MLflow's characters)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_name(
    kind: str,
    value: Any,
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    pattern: re.Pattern[str] | None = None,
    allowed: str = "",
) -> str:
    """``value`` if it is a valid ``kind`` name, else ``InvalidInput`` saying what is wrong.

    ``pattern`` (matched against the whole name) and ``allowed`` (its description, for the
    message) narrow the characters of a kind; without them any printable text is accepted.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{kind} must be a non-empty string, got {value!r}")
    if len(value) > max_length:
        raise InvalidInput(f"{kind} {value[:40]!r}... is {len(value)} characters; the limit is {max_length}")
    bad = _CONTROL.search(value)
    if bad is not None:
        raise InvalidInput(f"{kind} {value!r} contains the control character {bad.group()!r} at position {bad.start()}")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise InvalidInput(
            f"{kind} {value!r} is not allowed: {allowed or 'it has characters outside ' + pattern.pattern}"
        )
    return value
