"""``@step``: a plain function that becomes one node of a pipeline.

Called outside a pipeline definition a step is just its function. Called while a ``@pipeline``
function is being traced, it runs nothing and returns a ``StepOutput`` handle; passing that handle
to another step is what draws an edge of the DAG. Arguments that are not handles are the step's
parameters, part of its cache key.

A step is pickled by reference (module and name), so the local-process and Ray executors can
send it to another interpreter: define steps at module level in an importable module.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import textwrap
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, overload

from modelyard.errors import InvalidInput

if TYPE_CHECKING:
    from modelyard.sdk.client import Client

CONTEXT_PARAM = "context"


@dataclass(frozen=True)
class StepOutput:
    """The future value of a step's output, inside a pipeline definition."""

    step_id: str

    def __repr__(self) -> str:
        return f"<output of step {self.step_id!r}>"

    def __bool__(self) -> bool:
        raise InvalidInput(
            f"the output of step {self.step_id!r} has no value while the pipeline is being defined; "
            "branch inside a step, not in the @pipeline function"
        )


@dataclass(frozen=True, kw_only=True)
class StepContext:
    """What a step that asks for it (a parameter named ``context``) gets: the tracking client, its own
    run, and where each input came from (``inputs``: parameter name -> URI of the stored output).

    Such steps talk to the store, so they always run in the orchestrating process.
    """

    client: Client
    run_id: str
    pipeline_run_id: str
    pipeline: str
    step_id: str
    inputs: dict[str, str]


class _Tracer(Protocol):
    """Collects the steps a pipeline function calls (set by ``Pipeline.build``)."""

    def add(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> StepOutput: ...


current_tracer: ContextVar[_Tracer | None] = ContextVar("modelyard_pipeline_tracer", default=None)


class Step:
    """A pipeline step: the function plus how to run it (cache, retries, backoff, timeout)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        cache: bool = True,
        retries: int = 0,
        backoff_s: float = 1.0,
        timeout_s: float | None = None,
        num_cpus: float | None = None,
        num_gpus: float | None = None,
        memory: int | None = None,
    ) -> None:
        if retries < 0:
            raise InvalidInput(f"retries must be >= 0, got {retries}")
        if backoff_s < 0:
            raise InvalidInput(f"backoff_s must be >= 0, got {backoff_s}")
        if timeout_s is not None and timeout_s <= 0:
            raise InvalidInput(f"timeout_s must be > 0, got {timeout_s}")
        for hint, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus), ("memory", memory)):
            if value is not None and value < 0:
                raise InvalidInput(f"{hint} must be >= 0, got {value}")
        self.fn = fn
        self.name = name or fn.__name__
        self.cache = cache
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        # Resource hints, passed to Ray (the other executors ignore them); not part of the cache key.
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.memory = memory
        self.signature = inspect.signature(fn)
        self.wants_context = CONTEXT_PARAM in self.signature.parameters
        self.source_hash = source_hash(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tracer = current_tracer.get()
        if tracer is None:
            return self.fn(*args, **kwargs)
        return tracer.add(self, args, kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (import_step, (self.fn.__module__, self.fn.__qualname__))

    def __repr__(self) -> str:
        return f"<Step {self.name!r}>"


def import_step(module: str, qualname: str) -> Step:
    """The step ``module.qualname`` (how a pickled step is found again in another process)."""
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    if not isinstance(found, Step):
        raise InvalidInput(f"{module}:{qualname} is not a @step")
    return found


def source_hash(fn: Callable[..., Any]) -> str:
    """The hash of a function's source (its bytecode when the source is unavailable): the "code" part
    of a cache key, so editing a step invalidates its cached outputs."""
    try:
        text = textwrap.dedent(inspect.getsource(fn))
        data = text.encode("utf-8")
    except (OSError, TypeError):
        data = fn.__code__.co_code
    return hashlib.sha256(data).hexdigest()


@overload
def step(fn: Callable[..., Any], /) -> Step: ...


@overload
def step(
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    backoff_s: float = 1.0,
    timeout_s: float | None = None,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    memory: int | None = None,
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    backoff_s: float = 1.0,
    timeout_s: float | None = None,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    memory: int | None = None,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Make ``fn`` a pipeline step: ``@step`` or ``@step(cache=False, retries=2, timeout_s=60)``.

    ``retries`` re-runs a failing step after ``backoff_s * 2**attempt`` seconds; ``timeout_s``
    fails an attempt that runs longer (in-process attempts cannot be stopped, only abandoned).
    ``num_cpus``, ``num_gpus`` and ``memory`` (bytes) are what the step asks of a Ray node.
    """

    def wrap(f: Callable[..., Any]) -> Step:
        return Step(
            f,
            name=name,
            cache=cache,
            retries=retries,
            backoff_s=backoff_s,
            timeout_s=timeout_s,
            num_cpus=num_cpus,
            num_gpus=num_gpus,
            memory=memory,
        )

    return wrap(fn) if fn is not None else wrap
