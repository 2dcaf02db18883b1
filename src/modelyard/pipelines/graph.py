"""The traced DAG of a pipeline: step nodes in call order and the tracer that records them.

Tracing calls the pipeline function while a tracer is installed: every step call becomes a
``StepNode`` and returns a ``StepOutput`` handle, so the edges are exactly the values passed
between steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import InvalidInput, NotFound
from modelyard.pipelines.steps import CONTEXT_PARAM, Step, StepOutput, _Tracer


@dataclass(frozen=True, kw_only=True)
class StepNode:
    """One call of a step in a pipeline: its id, constant parameters and upstream inputs."""

    step_id: str
    step: Step
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # argument name -> upstream step id

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.inputs.values()))


@dataclass(frozen=True, kw_only=True)
class PipelineGraph:
    """The traced DAG: nodes in call order (a topological order, as handles only point back)."""

    pipeline: str
    params: dict[str, Any]
    nodes: tuple[StepNode, ...]

    def node(self, step_id: str) -> StepNode:
        for n in self.nodes:
            if n.step_id == step_id:
                return n
        raise NotFound(f"pipeline {self.pipeline!r} has no step {step_id!r}")

    def downstream(self, step_id: str) -> set[str]:
        """Every step that depends, directly or not, on ``step_id``."""
        found: set[str] = set()
        for n in self.nodes:
            if step_id in n.inputs.values() or found & set(n.inputs.values()):
                found.add(n.step_id)
        return found


class _GraphTracer(_Tracer):
    def __init__(self) -> None:
        self.nodes: list[StepNode] = []
        self._counts: dict[str, int] = {}

    def add(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> StepOutput:
        try:
            bound = step.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise InvalidInput(f"step {step.name!r} called with bad arguments: {exc}") from None
        bound.apply_defaults()
        count = self._counts[step.name] = self._counts.get(step.name, 0) + 1
        step_id = step.name if count == 1 else f"{step.name}_{count}"
        params: dict[str, Any] = {}
        inputs: dict[str, str] = {}
        for name, value in bound.arguments.items():
            if name == CONTEXT_PARAM:
                continue
            if isinstance(value, StepOutput):
                inputs[name] = value.step_id
            else:
                params[name] = value
        missing = [
            p.name
            for p in step.signature.parameters.values()
            if p.name not in bound.arguments
            and p.name != CONTEXT_PARAM
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if missing:
            raise InvalidInput(f"step {step.name!r} is missing argument(s): {', '.join(missing)}")
        self.nodes.append(StepNode(step_id=step_id, step=step, params=params, inputs=inputs))
        return StepOutput(step_id)
