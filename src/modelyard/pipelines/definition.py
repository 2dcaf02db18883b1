"""``@pipeline``: a plain function whose step calls, traced with the run's parameters, give the DAG.

Parameters given on the command line as text are converted by the function's annotations.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidInput, NotFound
from modelyard.pipelines.graph import PipelineGraph, _GraphTracer
from modelyard.pipelines.runner import PipelineResult, run_pipeline
from modelyard.pipelines.steps import current_tracer


class Pipeline:
    """A traced-on-demand DAG of steps, with the parameters its function declares."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.signature = inspect.signature(fn)
        self.__doc__ = fn.__doc__

    @property
    def target(self) -> str:
        """``module:attribute``, how the CLI and ``resume`` import this pipeline again."""
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    def defaults(self) -> dict[str, Any]:
        return {
            name: p.default for name, p in self.signature.parameters.items() if p.default is not inspect.Parameter.empty
        }

    def resolve_params(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with ``params``; text values converted by the parameter's annotation."""
        given = dict(params or {})
        unknown = sorted(set(given) - set(self.signature.parameters))
        if unknown:
            known = ", ".join(self.signature.parameters) or "none"
            raise InvalidInput(f"pipeline {self.name!r} has no parameter {unknown[0]!r} (parameters: {known})")
        resolved = self.defaults()
        for key, value in given.items():
            resolved[key] = _convert(key, value, self.signature.parameters[key]) if isinstance(value, str) else value
        missing = [k for k in self.signature.parameters if k not in resolved]
        if missing:
            raise InvalidInput(f"pipeline {self.name!r} needs a value for parameter(s): {', '.join(missing)}")
        return resolved

    def build(self, params: Mapping[str, Any] | None = None) -> PipelineGraph:
        """Trace the function with ``params`` and return the DAG it draws."""
        resolved = self.resolve_params(params)
        tracer = _GraphTracer()
        token = current_tracer.set(tracer)
        try:
            self.fn(**resolved)
        finally:
            current_tracer.reset(token)
        if not tracer.nodes:
            raise InvalidInput(f"pipeline {self.name!r} calls no step")
        return PipelineGraph(pipeline=self.name, params=resolved, nodes=tuple(tracer.nodes))

    def run(self, params: Mapping[str, Any] | None = None, **options: Any) -> PipelineResult:
        """Run the pipeline now; ``options`` are ``run_pipeline``'s (executor, cache, settings, ...)."""
        return run_pipeline(self, params, **options)

    def __repr__(self) -> str:
        return f"<Pipeline {self.name!r}>"


def pipeline(fn: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Make ``fn`` a pipeline: ``@pipeline`` or ``@pipeline(name="churn-training")``."""

    def wrap(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, name=name)

    return wrap(fn) if fn is not None else wrap


def load_pipeline(target: str) -> Pipeline:
    """The pipeline ``module:attribute`` names, importing the module (the current folder first)."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidInput(f"name a pipeline as module:attribute (e.g. flows.train:training), not {target!r}")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        found: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise NotFound(f"cannot import module {module_name!r}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise NotFound(f"module {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    if not isinstance(found, Pipeline):
        raise InvalidInput(f"{target} is a {type(found).__name__}, not a @pipeline")
    return found


def _convert(key: str, text: str, parameter: inspect.Parameter) -> Any:
    annotation = parameter.annotation
    if isinstance(annotation, str):
        annotation = {"int": int, "float": float, "bool": bool, "str": str}.get(annotation, annotation)
    if parameter.default is not inspect.Parameter.empty and annotation is inspect.Parameter.empty:
        annotation = type(parameter.default)
    try:
        if annotation is bool:
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return lowered in ("true", "1", "yes")
        if annotation in (int, float, str):
            return annotation(text)
        return json.loads(text)
    except (ValueError, json.JSONDecodeError):
        name = getattr(annotation, "__name__", "JSON")
        raise InvalidInput(f"parameter {key!r}: {text!r} is not a valid {name}") from None
