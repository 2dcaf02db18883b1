"""Alert rule expressions: ``METRIC[(FEATURE)] OP NUMBER [for N consecutive windows]``.

Examples::

    psi(age) > 0.25 for 2 consecutive windows
    unseen_share(region) > 0.02  (rows in levels the reference never held)
    share_drifted > 0.3
    accuracy < 0.85
    p95_latency_ms > 100
    error_rate > 0.05            (server errors / requests; invalid_rate: the callers' 4xx share)
    drifted(prediction) == 1
    attribution_shift(income) > 0.1   (a monitor with an explainer: change of income's share of |SHAP|)

A rule reads the flat ``metrics`` of a monitor's results: ``psi(age)`` is the key ``psi:age``.
A window lacking the metric (no labels yet, feature absent) does not satisfy the condition, so a
streak of "consecutive windows" needs the metric in each of them.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from modelyard.domain.monitoring import MonitorResult
from modelyard.errors import InvalidInput

FEATURE_METRICS = frozenset(
    {
        "psi",
        "ks",
        "ks_p_value",
        "wasserstein",
        "js",
        "tvd",
        "chi2_p_value",
        "statistic",
        "p_value",
        "drifted",
        "unseen_share",
        "out_of_range_share",
        "missing_rate",
        "missing_change",
        "attribution_share",
        "attribution_shift",
    }
)
WINDOW_METRICS = frozenset(
    {
        "share_drifted",
        "drifted_count",
        "dataset_drifted",
        "rows",
        "requests",
        "error_rate",
        "invalid_rate",
        "p50_latency_ms",
        "p95_latency_ms",
        "p99_latency_ms",
        "mean_latency_ms",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "mae",
        "rmse",
        "r2",
        "labelled_rows",
    }
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_RULE = re.compile(
    r"""^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*)
        \s*(?:\(\s*(?P<feature>[^()]+?)\s*\))?
        \s*(?P<op>>=|<=|==|!=|>|<)
        \s*(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
        \s*(?:for\s+(?P<count>\d+)\s+consecutive\s+windows?)?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True, kw_only=True)
class Condition:
    """A parsed rule expression."""

    metric: str
    feature: str | None
    op: str
    threshold: float
    windows: int = 1

    @property
    def key(self) -> str:
        """The metric key in a result's ``metrics``."""
        return self.metric if self.feature is None else f"{self.metric}:{self.feature}"

    def holds(self, metrics: dict[str, float]) -> bool:
        value = metrics.get(self.key)
        return value is not None and not math.isnan(value) and _OPS[self.op](value, self.threshold)

    def fired_by(self, results: Sequence[MonitorResult]) -> bool:
        """Whether the newest ``windows`` results (oldest first in ``results``) all satisfy it."""
        recent = list(results)[-self.windows :]
        return len(recent) == self.windows and all(self.holds(r.metrics) for r in recent)

    def __str__(self) -> str:
        target = self.metric if self.feature is None else f"{self.metric}({self.feature})"
        text = f"{target} {self.op} {self.threshold:g}"
        return text if self.windows == 1 else f"{text} for {self.windows} consecutive windows"


def parse_rule(text: str) -> Condition:
    """Parse ``text``; an error names what is wrong and shows the expected shape."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("an alert rule is empty; write e.g. 'psi(age) > 0.25 for 2 consecutive windows'")
    match = _RULE.match(text)
    if match is None:
        raise InvalidInput(f"cannot parse alert rule {text!r}: {_diagnose(text)}")
    metric = match["metric"].lower()
    feature = match["feature"]
    if metric in FEATURE_METRICS and feature is None:
        raise InvalidInput(f"alert rule {text!r}: {metric} is per feature; write {metric}(FEATURE)")
    if metric in WINDOW_METRICS and feature is not None:
        raise InvalidInput(f"alert rule {text!r}: {metric} is per window and takes no feature")
    if metric not in FEATURE_METRICS | WINDOW_METRICS:
        raise InvalidInput(
            f"alert rule {text!r}: unknown metric {metric!r}; per feature: {', '.join(sorted(FEATURE_METRICS))}; "
            f"per window: {', '.join(sorted(WINDOW_METRICS))}"
        )
    windows = int(match["count"]) if match["count"] else 1
    if windows < 1:
        raise InvalidInput(f"alert rule {text!r}: the number of consecutive windows must be at least 1")
    return Condition(metric=metric, feature=feature, op=match["op"], threshold=float(match["number"]), windows=windows)


def _diagnose(text: str) -> str:
    stripped = text.strip()
    if not re.search(r">=|<=|==|!=|>|<", stripped):
        return "no comparison (one of > >= < <= == !=)"
    left, _, right = re.split(r"(>=|<=|==|!=|>|<)", stripped, maxsplit=1)
    if not re.match(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*(\([^()]+\))?\s*$", left):
        return f"the left side {left.strip()!r} is not METRIC or METRIC(FEATURE)"
    if not re.match(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", right):
        return f"the right side {right.strip()!r} does not start with a number"
    return "after the number, only 'for N consecutive windows' may follow"
