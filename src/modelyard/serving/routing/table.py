"""The route table: which serving variant owns which of the 10,000 buckets."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from modelyard.errors import InvalidInput
from modelyard.serving.routing.ab import ab_shares
from modelyard.serving.routing.canary import canary_shares
from modelyard.serving.routing.sticky import BUCKETS


@dataclass(frozen=True)
class RouteTable:
    """Variants in order with the exclusive upper bucket each owns; zero-share variants own none."""

    names: tuple[str, ...]
    bounds: tuple[int, ...]

    def pick(self, bucket: int) -> str:
        """The variant owning ``bucket``."""
        return self.names[bisect.bisect_right(self.bounds, bucket)]

    def shares(self) -> dict[str, float]:
        """Each variant's share of traffic in percent (what the table really does, after rounding)."""
        lower = 0
        out: dict[str, float] = {}
        for name, upper in zip(self.names, self.bounds, strict=True):
            out[name] = 100.0 * (upper - lower) / BUCKETS
            lower = upper
        return out


def build_route_table(variants: Sequence[tuple[str, str, float]]) -> RouteTable:
    """A table for ``(name, mode, weight)`` triples of serving (non-shadow) variants."""
    modes = {mode for _, mode, _ in variants}
    if not variants:
        raise InvalidInput("needs at least one primary or A/B variant (shadows alone answer nobody)")
    if "ab" in modes:
        if modes != {"ab"}:
            raise InvalidInput("A/B variants cannot be mixed with primary or canary variants")
        shares = ab_shares(variants)
    else:
        shares = canary_shares(variants)
    names: list[str] = []
    bounds: list[int] = []
    cumulative = 0.0
    for name, share in shares:
        cumulative += share
        upper = round(cumulative * BUCKETS / 100)
        if bounds and upper == bounds[-1]:
            continue
        names.append(name)
        bounds.append(upper)
    bounds[-1] = BUCKETS
    return RouteTable(names=tuple(names), bounds=tuple(bounds))
