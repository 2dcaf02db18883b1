"""Running a traced pipeline: tracking, caching, resuming and scheduling steps onto an executor.

Each pipeline run is a tracked parent run (experiment ``pipelines/<name>``) and each step a child
run with the step's parameters, its timing and attempt count as metrics, and its status as a tag,
whether it executed or its output was reused. A step is started as soon as every step it reads
from has an output, so independent steps run at the same time on a parallel executor. After a
failure no new step starts; steps downstream of it are recorded as SKIPPED.

A step whose cache key (code, params, input digests) matches a stored entry is not executed
(CACHED). Resuming a run reuses every output of the resumed run whose key is unchanged (REUSED),
even for ``cache=False`` steps, so only the failed step and what follows it run again.

A step that returns one of its input models unchanged (picking the best of several) passes it
through: its output is that stored model, not a copy (``passed_through``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from modelyard.config import Settings
from modelyard.domain.data import DatasetRole
from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.domain.pipelines import (
    STEP_BOOKKEEPING_METRICS,
    STEP_TAG,
    ArtifactRef,
    CacheEntry,
    PipelineRun,
    PipelineStatus,
    StepRun,
    StepStatus,
)
from modelyard.errors import BackendUnavailable, InvalidInput, ModelyardError, NotFound, UserCodeError
from modelyard.models import Predictor
from modelyard.pipelines.cache import cache_key, canonical
from modelyard.pipelines.executors import InProcessExecutor, LocalProcessExecutor, StepTask, TaskOutcome
from modelyard.pipelines.executors.base import Executor
from modelyard.pipelines.graph import PipelineGraph, StepNode
from modelyard.pipelines.materializers import MaterializeContext, load_output, save_output
from modelyard.pipelines.steps import CONTEXT_PARAM, StepContext
from modelyard.sdk.client import Client
from modelyard.store.repos import lineage as lineage_rows
from modelyard.store.repos import pipelines as pipeline_rows
from modelyard.tracking.validation import MAX_PARAM_VALUE_LENGTH
from modelyard.uris import parse_run_uri

if TYPE_CHECKING:
    from modelyard.pipelines.definition import Pipeline

EXPERIMENT_PREFIX = "pipelines/"
EXECUTORS = ("inprocess", "local", "ray")
StepListener = Callable[[StepRun], None]
_METRIC_KEY = re.compile(r"[\w\-. /:]{1,200}")


@dataclass(frozen=True, kw_only=True)
class PipelineResult:
    """A finished pipeline run: its record, its steps, and access to their outputs."""

    run: PipelineRun
    steps: tuple[StepRun, ...]
    client: Client

    @property
    def succeeded(self) -> bool:
        return self.run.status is PipelineStatus.FINISHED

    def step(self, step_id: str) -> StepRun:
        for s in self.steps:
            if s.step_id == step_id:
                return s
        raise NotFound(f"pipeline run {self.run.run_id} has no step {step_id!r}")

    def output(self, step_id: str) -> Any:
        """The stored output of ``step_id``, loaded by its materializer."""
        found = self.step(step_id)
        if found.output is None:
            raise NotFound(f"step {step_id!r} of pipeline run {self.run.run_id} has no output ({found.status.value})")
        return load_output(found.output, self.client)

    def executed(self) -> list[str]:
        """Ids of the steps that actually ran (not cached, reused or skipped)."""
        return [s.step_id for s in self.steps if s.status in (StepStatus.COMPLETED, StepStatus.FAILED)]

    def check(self) -> PipelineResult:
        """This result, or ``UserCodeError`` naming the failed step and its error."""
        if not self.succeeded:
            failed = [s for s in self.steps if s.status is StepStatus.FAILED]
            detail = f"step {failed[0].step_id!r}: {failed[0].error}" if failed else "no step failed"
            raise UserCodeError(f"pipeline run {self.run.run_id} failed at {detail}", run_id=self.run.run_id)
        return self


def make_executor(name: str, *, max_workers: int | None = None, ray_address: str | None = None) -> Executor:
    """The executor called ``name``: ``inprocess``, ``local`` (child processes) or ``ray``."""
    if name == "inprocess":
        return InProcessExecutor()
    if name == "local":
        return LocalProcessExecutor(max_workers)
    if name == "ray":
        try:  # imported here: ray is an optional, heavy dependency (modelyard[ray])
            from modelyard.pipelines.executors.ray import RayExecutor
        except ImportError as exc:
            raise BackendUnavailable(
                f"the ray executor needs Ray ({exc.name} is not installed): pip install 'modelyard[ray]'"
            ) from None
        return RayExecutor(address=ray_address, max_workers=max_workers)
    raise InvalidInput(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")


def run_pipeline(
    pipeline: Pipeline,
    params: Mapping[str, Any] | None = None,
    *,
    executor: str = "inprocess",
    cache: bool = True,
    settings: Settings | None = None,
    client: Client | None = None,
    on_step: StepListener | None = None,
    resume_from: str | None = None,
    max_workers: int | None = None,
) -> PipelineResult:
    """Trace ``pipeline`` with ``params`` and run it; the result says how every step ended.

    A failing step does not raise here: the result records it (``result.check()`` raises).
    ``cache=False`` executes every step (``--no-cache``). ``resume_from`` is the id of an earlier
    run of the same pipeline whose unchanged outputs are reused.
    """
    graph = pipeline.build(params)
    client = client or Client(settings)
    previous: dict[str, StepRun] = {}
    if resume_from is not None:
        with client.backend.db.read() as conn:
            previous = {s.step_id: s for s in pipeline_rows.list_steps(conn, resume_from)}
    runner = _Orchestrator(
        client=client,
        graph=graph,
        target=pipeline.target,
        executor=make_executor(executor, max_workers=max_workers, ray_address=client.settings.ray_address),
        use_cache=cache,
        previous=previous,
        resumed_from=resume_from,
        on_step=on_step,
    )
    return runner.run()


class _Orchestrator:
    def __init__(
        self,
        *,
        client: Client,
        graph: PipelineGraph,
        target: str,
        executor: Executor,
        use_cache: bool,
        previous: dict[str, StepRun],
        resumed_from: str | None,
        on_step: StepListener | None,
    ) -> None:
        self.client = client
        self.backend = client.backend
        self.graph = graph
        self.target = target
        self.executor = executor
        self.local = executor if isinstance(executor, InProcessExecutor) else InProcessExecutor()
        self.use_cache = use_cache
        self.previous = previous
        self.resumed_from = resumed_from
        self.on_step = on_step
        self.positions = {n.step_id: i for i, n in enumerate(graph.nodes)}
        self.states: dict[str, StepRun] = {}
        self.outputs: dict[str, ArtifactRef] = {}
        self.loaded: dict[str, dict[str, Any]] = {}  # a running step's input values, for its output's signature

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> PipelineResult:
        name = self.graph.pipeline
        experiment = self.backend.experiments.get_or_create(f"{EXPERIMENT_PREFIX}{name}")
        parent = self.client.create_run(
            experiment.experiment_id,
            run_name=name,
            tags={"modelyard.pipeline": name, "modelyard.pipeline.target": self.target},
        )
        self.run_id = parent.info.run_id
        self.experiment_id = experiment.experiment_id
        self.client.log_params(self.run_id, _param_texts(self.graph.params))
        record = PipelineRun(
            run_id=self.run_id,
            pipeline=name,
            target=self.target,
            params={k: canonical(v) for k, v in self.graph.params.items()},
            status=PipelineStatus.RUNNING,
            executor=self.executor.name,
            use_cache=self.use_cache,
            created_at=parent.info.start_time,
            resumed_from=self.resumed_from,
        )
        with self.backend.db.begin() as conn:
            pipeline_rows.insert_run(conn, record)
            for node in self.graph.nodes:
                step = StepRun(
                    pipeline_run_id=self.run_id, step_id=node.step_id, status=StepStatus.PENDING, upstream=node.upstream
                )
                self.states[node.step_id] = step
                pipeline_rows.save_step(conn, step, position=self.positions[node.step_id])
        try:
            failed = self._schedule()
        finally:
            self.executor.shutdown()
            if self.local is not self.executor:
                self.local.shutdown()
        status = PipelineStatus.FAILED if failed else PipelineStatus.FINISHED
        self.client.set_terminated(self.run_id, "FAILED" if failed else "FINISHED")
        now = _now_ms()
        with self.backend.db.begin() as conn:
            pipeline_rows.end_run(conn, self.run_id, status, now_ms=now)
        final = replace(record, status=status, ended_at=now)
        return PipelineResult(
            run=final, steps=tuple(self.states[n.step_id] for n in self.graph.nodes), client=self.client
        )

    def _schedule(self) -> bool:
        pending = list(self.graph.nodes)
        running: dict[Future[TaskOutcome], tuple[StepNode, str]] = {}
        failed = False
        while True:
            progressed = True
            while progressed and not failed:
                progressed = False
                for node in list(pending):
                    if all(u in self.outputs for u in node.upstream):
                        pending.remove(node)
                        progressed = True
                        started = self._start(node)
                        if started is None:
                            failed = failed or self.states[node.step_id].status is StepStatus.FAILED
                        else:
                            running[started[0]] = (node, started[1])
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                node, run_id = running.pop(future)
                if not self._finish(node, run_id, future):
                    failed = True
        for node in pending:
            self._save(replace(self.states[node.step_id], status=StepStatus.SKIPPED))
        return failed

    # -- one step --------------------------------------------------------------------------------

    def _start(self, node: StepNode) -> tuple[Future[TaskOutcome], str] | None:
        """Reuse a stored output (returns None) or submit the step (returns its future and run id)."""
        inputs = {arg: self.outputs[up] for arg, up in node.inputs.items()}
        key = cache_key(
            source_hash=node.step.source_hash,
            params=node.params,
            input_digests={arg: ref.digest for arg, ref in inputs.items()},
        )
        before = self.previous.get(node.step_id)
        if before is not None and before.status.produced_output and before.cache_key == key and before.output:
            self._reuse(node, key, before.output, StepStatus.REUSED)
            return None
        if self.use_cache and node.step.cache:
            with self.backend.db.read() as conn:
                entry = pipeline_rows.get_cache(conn, key)
            if entry is not None:
                self._reuse(node, key, entry.output, StepStatus.CACHED)
                return None
        run_id = self._child_run(node, StepStatus.RUNNING)
        now = _now_ms()
        self._save(
            replace(self.states[node.step_id], status=StepStatus.RUNNING, run_id=run_id, cache_key=key, started_at=now)
        )
        try:
            self._record_inputs(run_id, inputs)
            kwargs = dict(node.params)
            loaded = {arg: load_output(ref, self.client) for arg, ref in inputs.items()}
            kwargs.update(loaded)
            self.loaded[node.step_id] = loaded
            executor = self.executor
            if node.step.wants_context:
                kwargs[CONTEXT_PARAM] = StepContext(
                    client=self.client,
                    run_id=run_id,
                    pipeline_run_id=self.run_id,
                    pipeline=self.graph.pipeline,
                    step_id=node.step_id,
                    inputs={arg: ref.location for arg, ref in inputs.items()},
                )
                executor = self.local
            return executor.submit(StepTask(step_id=node.step_id, step=node.step, kwargs=kwargs)), run_id
        except ModelyardError as exc:
            self._fail(node, run_id, exc.message, attempts=0)
            return None

    def _finish(self, node: StepNode, run_id: str, future: Future[TaskOutcome]) -> bool:
        try:
            loaded = self.loaded.pop(node.step_id, {})
            outcome = future.result()
            inputs = {arg: self.outputs[up] for arg, up in node.inputs.items()}
            ref = passed_through(outcome.value, inputs) or save_output(
                outcome.value,
                MaterializeContext(
                    client=self.client,
                    run_id=run_id,
                    pipeline=self.graph.pipeline,
                    step_id=node.step_id,
                    inputs=loaded,
                ),
            )
        except ModelyardError as exc:
            self._fail(node, run_id, _describe(exc), attempts=int(exc.details.get("attempts", 1)))
            return False
        state = self.states[node.step_id]
        duration, attempts = STEP_BOOKKEEPING_METRICS
        metrics = {
            duration: (outcome.ended_at - outcome.started_at) / 1000,
            attempts: float(outcome.attempts),
            **_numeric(outcome.value),
        }
        self.client.log_metrics(run_id, metrics)
        self.client.set_tag(run_id, "modelyard.step.output", ref.location or "-")
        if node.step.cache and state.cache_key is not None:
            entry = CacheEntry(
                cache_key=state.cache_key,
                pipeline=self.graph.pipeline,
                step_id=node.step_id,
                run_id=run_id,
                output=ref,
                created_at=_now_ms(),
            )
            with self.backend.db.begin() as conn:
                pipeline_rows.put_cache(conn, [entry])
        self._end_child(run_id, StepStatus.COMPLETED, "FINISHED")
        self.outputs[node.step_id] = ref
        self._save(
            replace(
                state,
                status=StepStatus.COMPLETED,
                output=ref,
                attempts=outcome.attempts,
                started_at=outcome.started_at,
                ended_at=outcome.ended_at,
            )
        )
        return True

    def _reuse(self, node: StepNode, key: str, ref: ArtifactRef, status: StepStatus) -> None:
        run_id = self._child_run(node, status)
        self.client.set_tag(run_id, "modelyard.step.output", ref.location or "-")
        self._end_child(run_id, status, "FINISHED")
        self.outputs[node.step_id] = ref
        now = _now_ms()
        self._save(
            replace(
                self.states[node.step_id],
                status=status,
                run_id=run_id,
                cache_key=key,
                output=ref,
                started_at=now,
                ended_at=now,
            )
        )

    def _fail(self, node: StepNode, run_id: str, error: str, *, attempts: int) -> None:
        self.loaded.pop(node.step_id, None)
        self.client.set_tag(run_id, "modelyard.step.error", error[:8000])
        self._end_child(run_id, StepStatus.FAILED, "FAILED")
        self._save(
            replace(
                self.states[node.step_id], status=StepStatus.FAILED, error=error, attempts=attempts, ended_at=_now_ms()
            )
        )

    # -- tracking and store ----------------------------------------------------------------------

    def _child_run(self, node: StepNode, status: StepStatus) -> str:
        run = self.client.create_run(
            self.experiment_id,
            run_name=node.step_id,
            parent_run_id=self.run_id,
            tags={
                "modelyard.pipeline": self.graph.pipeline,
                STEP_TAG: node.step_id,
                "modelyard.step.status": status.value,
            },
        )
        if node.params:
            self.client.log_params(run.info.run_id, _param_texts(node.params))
        return run.info.run_id

    def _end_child(self, run_id: str, status: StepStatus, run_status: str) -> None:
        self.client.set_tag(run_id, "modelyard.step.status", status.value)
        self.client.set_terminated(run_id, run_status)

    def _record_inputs(self, run_id: str, inputs: Mapping[str, ArtifactRef]) -> None:
        """Lineage from each stored input (dataset version, logged model) to the step's run.

        A dataset input's lineage edge is labelled with the step's parameter name (``input as
        holdout``), what the step's author called it; the run's dataset input gets the closest
        ``DatasetRole`` (``dataset_role``), so a holdout is never taken for training data.
        """
        for arg, ref in inputs.items():
            if ref.kind == "dataframe":
                self.backend.datasets.add_input(ref.location, run_id, dataset_role(arg), label=arg)
            elif ref.kind == "model":
                uri = parse_run_uri(ref.location)
                logged = self.backend.logged_models.find(uri.run_id, uri.path)
                if logged is not None:
                    with self.backend.db.begin() as conn:
                        lineage_rows.add(
                            conn,
                            NodeRef(kind=NodeKind.LOGGED_MODEL, id=logged.model_id),
                            NodeRef(kind=NodeKind.RUN, id=run_id),
                            Relation.INPUT,
                            now_ms=_now_ms(),
                        )

    def _save(self, step: StepRun) -> None:
        self.states[step.step_id] = step
        with self.backend.db.begin() as conn:
            pipeline_rows.save_step(conn, step, position=self.positions[step.step_id])
        if self.on_step is not None:
            self.on_step(step)


def passed_through(value: Any, inputs: Mapping[str, ArtifactRef]) -> ArtifactRef | None:
    """The stored input a step returned unchanged: a loaded model whose digest is one of its input
    models' (a step that picks the best of several models), so the pick is the stored model itself,
    not a copy, and ``register`` after it registers the model its training step logged."""
    if not isinstance(value, Predictor):
        return None
    return next((r for r in inputs.values() if r.kind == "model" and r.digest == value.manifest.digest), None)


_ROLE_WORDS: tuple[tuple[DatasetRole, frozenset[str]], ...] = (
    (DatasetRole.TRAIN, frozenset({"train", "training", "fit"})),
    (DatasetRole.VALIDATION, frozenset({"validation", "valid", "val", "dev"})),
    (DatasetRole.TEST, frozenset({"test", "testing", "holdout", "eval", "evaluation"})),
    (DatasetRole.REFERENCE, frozenset({"reference", "ref", "baseline"})),
)


def dataset_role(param: str) -> DatasetRole:
    """The ``DatasetRole`` a step parameter's name suggests: ``holdout``/``x_test`` -> test,
    ``val_frame`` -> validation, ``reference`` -> reference; any other name (``frame``) -> train."""
    words = set(re.split(r"[^a-z0-9]+", param.lower()))
    for role, names in _ROLE_WORDS:
        if words & names:
            return role
    return DatasetRole.TRAIN


def _param_texts(params: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in params.items():
        data = canonical(value)
        text = data if isinstance(data, str) else json.dumps(data, sort_keys=True)
        out[key] = text[:MAX_PARAM_VALUE_LENGTH]
    return out


def _numeric(value: Any) -> dict[str, float]:
    """Top-level numbers of a dict output, logged as the step's metrics."""
    if not isinstance(value, dict):
        return {}
    return {
        k: float(v)
        for k, v in value.items()
        if isinstance(k, str) and _METRIC_KEY.fullmatch(k) and isinstance(v, int | float) and not isinstance(v, bool)
    }


def _describe(exc: ModelyardError) -> str:
    cause = exc.__cause__
    text = exc.message
    if cause is not None and cause.__cause__ is not None:  # a child's traceback travels in the message
        text = f"{text}\n{cause.__cause__}"
    return text


def _now_ms() -> int:
    return int(time.time() * 1000)
