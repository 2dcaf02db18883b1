"""A/B splits: two or more variants sharing traffic in proportion to their weights."""

from __future__ import annotations

from collections.abc import Sequence

from modelyard.errors import InvalidInput


def ab_shares(variants: Sequence[tuple[str, str, float]]) -> list[tuple[str, float]]:
    """Percent shares for ``(name, mode, weight)`` triples that are all ``ab``."""
    if len(variants) < 2:
        raise InvalidInput("an A/B split needs at least two variants")
    if any(weight <= 0 for _, _, weight in variants):
        raise InvalidInput("every A/B variant needs a positive weight")
    total = sum(weight for _, _, weight in variants)
    return [(name, 100.0 * weight / total) for name, _, weight in variants]
