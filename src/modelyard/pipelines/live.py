"""A pipeline run shown as it goes: a table of its steps, updated live in a terminal.

What ``modelyard pipelines run`` and ``resume`` show, public so that a script running a pipeline
(the demo, a notebook) shows the same without reaching into the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.table import Table

from modelyard.domain.pipelines import StepRun, StepStatus

if TYPE_CHECKING:
    from modelyard.pipelines.runner import PipelineResult

STEP_STYLE = {
    StepStatus.PENDING: "dim",
    StepStatus.RUNNING: "cyan",
    StepStatus.COMPLETED: "green",
    StepStatus.CACHED: "blue",
    StepStatus.REUSED: "blue",
    StepStatus.FAILED: "red",
    StepStatus.SKIPPED: "yellow",
}


def _duration(start: int, end: int | None) -> str:
    if end is None:
        return "-"
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f}m" if seconds < 3600 else f"{seconds / 3600:.1f}h"


def steps_table(title: str, steps: list[StepRun]) -> Table:
    """The steps of a pipeline run as a table, one row each, coloured by status."""
    table = Table(title=title)
    for column in ("step", "status", "attempts", "duration", "output", "error"):
        table.add_column(column, overflow="fold")
    for s in steps:
        style = STEP_STYLE[s.status]
        duration = _duration(s.started_at, s.ended_at) if s.started_at is not None else "-"
        error = (s.error or "").splitlines()[0] if s.error else ""
        table.add_row(
            s.step_id,
            f"[{style}]{s.status.value}[/{style}]",
            str(s.attempts),
            duration,
            s.output.location if s.output else "",
            error,
        )
    return table


def run_live(out: Console, title: str, start: Callable[[Callable[[StepRun], None]], PipelineResult]) -> PipelineResult:
    """Call ``start(on_step)`` (a pipeline run given ``on_step``) under a live table of its steps.

    Returns the result as is: a failed run does not raise here (``result.check()`` does).
    """
    steps: dict[str, StepRun] = {}

    with Live(steps_table(title, []), console=out, refresh_per_second=4, transient=False) as live:

        def on_step(step: StepRun) -> None:
            steps[step.step_id] = step
            live.update(steps_table(title, list(steps.values())))

        result: PipelineResult = start(on_step)
        live.update(steps_table(title, list(result.steps)))
    if not out.is_terminal:  # off a terminal rich leaves the last frame without its line end
        out.line()
    return result
