"""The canary verdict: given an SLO and what a canary did over its window, roll back, promote or wait.

Pure and synchronous, so every rule is tested with figures. The rules, Flagger/Argo style:

- below ``min_requests`` nothing is decided (too little evidence either way), whatever the time;
- with enough requests, any threshold breached rolls back at once (a bad canary is not left to
  finish its window); thresholds whose figure was not measured (no disagreement comparisons yet)
  are reported as such and do not count as passed or breached;
- once ``window_s`` has passed with enough requests and no breach, the canary is promoted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from modelyard.domain.serving import CanarySLO


class Action(enum.StrEnum):
    WAIT = "wait"
    ROLLBACK = "rollback"
    PROMOTE = "promote"


@dataclass(frozen=True, kw_only=True)
class CanaryFigures:
    """What one canary did since its window opened.

    ``requests`` counts every request routed to it, failed or not; ``errors`` those that failed;
    ``p95_ms`` is over the successful ones; ``disagreement_rate`` is the share of compared rows
    where the canary's answer differed from the primary's (``None`` when nothing was compared).
    """

    requests: int
    errors: int
    p95_ms: float | None
    disagreement_rate: float | None
    compared_rows: int = 0
    elapsed_s: float = 0.0

    @property
    def error_rate(self) -> float:
        return 0.0 if self.requests == 0 else self.errors / self.requests

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "p95_ms": self.p95_ms,
            "disagreement_rate": self.disagreement_rate,
            "compared_rows": self.compared_rows,
            "elapsed_s": self.elapsed_s,
        }


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The action and the reasons for it, one sentence each, naming the figure and the limit."""

    action: Action
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action.value, "reasons": list(self.reasons)}


def evaluate(slo: CanarySLO, figures: CanaryFigures) -> Verdict:
    """Decide what to do with a canary that produced ``figures`` under ``slo``."""
    if figures.requests < slo.min_requests:
        return Verdict(
            action=Action.WAIT,
            reasons=(f"{figures.requests} requests so far, the SLO needs {slo.min_requests} before judging",),
        )
    breaches: list[str] = []
    notes: list[str] = []
    if slo.max_error_rate is not None and figures.error_rate > slo.max_error_rate:
        breaches.append(
            f"error rate {figures.error_rate:.2%} ({figures.errors}/{figures.requests}) "
            f"above the limit {slo.max_error_rate:.2%}"
        )
    if slo.max_p95_ms is not None:
        if figures.p95_ms is None:
            notes.append("p95 latency not measured (no successful requests)")
        elif figures.p95_ms > slo.max_p95_ms:
            breaches.append(f"p95 latency {figures.p95_ms:.1f} ms above the limit {slo.max_p95_ms:g} ms")
    if slo.max_disagreement is not None:
        if figures.disagreement_rate is None:
            notes.append("disagreement with the primary not measured (no compared rows)")
        elif figures.disagreement_rate > slo.max_disagreement:
            breaches.append(
                f"disagreement with the primary {figures.disagreement_rate:.2%} "
                f"over {figures.compared_rows} rows above the limit {slo.max_disagreement:.2%}"
            )
    if breaches:
        return Verdict(action=Action.ROLLBACK, reasons=tuple(breaches + notes))
    if figures.elapsed_s >= slo.window_s:
        return Verdict(
            action=Action.PROMOTE,
            reasons=(f"SLO held for {figures.elapsed_s:.0f} s over {figures.requests} requests", *notes),
        )
    return Verdict(
        action=Action.WAIT,
        reasons=(f"SLO holding; {slo.window_s - figures.elapsed_s:.0f} s of the window left", *notes),
    )


def p95(latencies_ms: list[float]) -> float | None:
    """The 95th percentile by the nearest-rank rule (``None`` for no samples)."""
    if not latencies_ms:
        return None
    ordered = sorted(latencies_ms)
    rank = max(1, -(-95 * len(ordered) // 100))  # ceil(0.95 * n)
    return ordered[rank - 1]
