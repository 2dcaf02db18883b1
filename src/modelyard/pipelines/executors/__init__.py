"""Executors: where a step's function runs (this process, child processes, a Ray cluster)."""

from modelyard.pipelines.executors.base import Executor as Executor
from modelyard.pipelines.executors.base import StepFailed as StepFailed
from modelyard.pipelines.executors.base import StepTask as StepTask
from modelyard.pipelines.executors.base import TaskOutcome as TaskOutcome
from modelyard.pipelines.executors.inprocess import InProcessExecutor as InProcessExecutor
from modelyard.pipelines.executors.local import LocalProcessExecutor as LocalProcessExecutor

__all__ = ["Executor", "InProcessExecutor", "LocalProcessExecutor", "StepFailed", "StepTask", "TaskOutcome"]
