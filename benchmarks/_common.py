"""What every benchmark suite shares: timing, the comparison record, the table and the JSON file.

A suite measures each case on modelyard and on the incumbent (MLflow for tracking) in the same
process, on the same machine, one after the other, each on a store of its own. It returns
``Case`` records; ``run.py`` prints them and writes them to ``bench-results/<suite>.json``.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).resolve().parent.parent / "bench-results"


@dataclass(frozen=True, kw_only=True)
class Options:
    """Knobs every suite takes: ``scale`` shrinks every workload by the same factor (a quick
    look on a busy machine); ``repeats`` is how many times a cheap case is repeated for a median."""

    scale: float = 1.0
    repeats: int = 3

    def n(self, full: int, minimum: int = 1) -> int:
        """``full`` items scaled down, never below ``minimum``."""
        return max(minimum, round(full * self.scale))


@dataclass(frozen=True, kw_only=True)
class Case:
    """One measured case: the same workload on modelyard and on the incumbent.

    ``higher_is_better`` says whether the figures are rates (ratio = modelyard / incumbent) or
    times (ratio = incumbent / modelyard); either way a ratio above 1 means modelyard is faster.
    """

    name: str
    unit: str
    modelyard: float
    incumbent: float | None
    higher_is_better: bool
    target: float | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.incumbent is None or self.incumbent == 0 or self.modelyard == 0:
            return None
        return self.modelyard / self.incumbent if self.higher_is_better else self.incumbent / self.modelyard

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if self.target is None or ratio is None:
            return None
        return ratio >= self.target


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn`` took, with the garbage collector settled first so neither side pays for the
    other's garbage."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """The median of ``repeats`` timings of ``fn`` and all of them."""
    times = [timed(fn) for _ in range(max(1, repeats))]
    return statistics.median(times), times


def _figure(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def _ratio_cell(case: Case) -> str:
    ratio = case.ratio
    if ratio is None:
        return "—"
    text = f"{ratio:,.1f}x"
    if case.target is not None:
        mark = "[green]met[/]" if case.met else "[red]missed[/]"
        text += f" (target ≥ {case.target:g}x: {mark})"
    return text


def print_table(title: str, incumbent: str, cases: Sequence[Case], console: Console | None = None) -> None:
    """The cases as one table: case, modelyard, incumbent, unit, ratio (and the target's verdict)."""
    table = Table(title=title, title_justify="left")
    table.add_column("case")
    table.add_column("modelyard", justify="right")
    table.add_column(incumbent, justify="right")
    table.add_column("unit")
    table.add_column("ratio", justify="right")
    for case in cases:
        table.add_row(case.name, _figure(case.modelyard), _figure(case.incumbent), case.unit, _ratio_cell(case))
    out = console or Console(width=None if Console().is_terminal else 160)  # a pipe is not 80 columns wide
    out.print(table)
    for case in cases:
        if case.note:
            out.print(f"  [dim]{case.name}: {case.note}[/]")


def machine() -> dict[str, Any]:
    """Where the figures were taken: they mean little without it."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": list(load) if load else None,
    }


def write_results(suite: str, cases: Sequence[Case], extra: dict[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """``bench-results/<suite>.json``: the cases with their ratios, the machine, and ``extra``."""
    directory.mkdir(parents=True, exist_ok=True)
    body = {
        "suite": suite,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        **extra,
        "cases": [{**asdict(c), "ratio": c.ratio, "target_met": c.met} for c in cases],
    }
    path = directory / f"{suite}.json"
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")
    return path
