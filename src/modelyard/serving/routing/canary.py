"""Primary + canary weights: canaries take their percentage, the primary takes the rest."""

from __future__ import annotations

from collections.abc import Sequence

from modelyard.errors import InvalidInput


def canary_shares(variants: Sequence[tuple[str, str, float]]) -> list[tuple[str, float]]:
    """Percent shares for ``(name, mode, weight)`` triples of one primary and its canaries."""
    primaries = [name for name, mode, _ in variants if mode == "primary"]
    if len(primaries) != 1:
        raise InvalidInput(f"needs exactly one primary variant, got {len(primaries)}")
    canaries = [(name, weight) for name, mode, weight in variants if mode == "canary"]
    total = sum(weight for _, weight in canaries)
    if total > 100:
        raise InvalidInput(f"canary weights add up to {total:g} %, more than 100")
    return [(primaries[0], 100.0 - total), *canaries]
