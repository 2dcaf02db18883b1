"""What a server serves: deployments, their variants, and how traffic is split between them.

A ``ServingPlan`` is an immutable value built once (by tests, benchmarks, or later the deployments
service from the store) and handed to the app through a ``PlanHolder``. Changing traffic means
building a new plan and swapping it in: a request reads the holder once when it starts and uses
that plan to the end, so a swap never leaves a request half on the old plan and half on the new.

Traffic rules, checked when a plan is built (``InvalidInput`` naming the deployment otherwise):

- a deployment is either *primary-based* (one ``primary``, any number of ``canary`` variants whose
  weights are percentages summing to at most 100; the primary takes the rest) or an *A/B split*
  (two or more ``ab`` variants with positive weights, taken relative to their sum);
- ``shadow`` variants get a copy of every request; their answers are recorded, never returned;
- variant names are unique within a deployment.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import pandas as pd

from modelyard.domain.serving import BatchingSpec, StickySpec, explain_sample_rate
from modelyard.errors import BackendUnavailable, InvalidInput, NotFound
from modelyard.models import Predictor
from modelyard.serving.routing.table import RouteTable, build_route_table


class Mode(enum.StrEnum):
    """How a variant takes part in a deployment's traffic."""

    PRIMARY = "primary"
    CANARY = "canary"
    SHADOW = "shadow"
    AB = "ab"


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One model version inside a deployment.

    ``model_version`` is a label such as ``"churn/3"`` returned to callers in a header; ``weight`` is
    a percentage for canaries, a relative share for A/B variants and ignored for primary/shadow;
    ``sample`` is the percentage of requests a shadow receives a copy of.
    """

    name: str
    model_version: str
    predictor: Predictor
    mode: Mode = Mode.PRIMARY
    weight: float = 0.0
    sample: float = 100.0

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidInput("a variant needs a non-empty name")
        if not 0 <= self.weight <= 100:
            raise InvalidInput(f"variant {self.name!r}: weight must be within 0-100, got {self.weight}")
        if not 0 <= self.sample <= 100:
            raise InvalidInput(f"variant {self.name!r}: sample must be within 0-100 %, got {self.sample}")


StickyKey = StickySpec
"""The runtime reads the deployment's own record of where a sticky key comes from."""


class Enricher(Protocol):
    """Adds features to a request's rows before the signature check (the feature store's online
    lookup). ``keys`` are request fields that only name entities: dropped unless the model takes
    them. Raises ``InvalidInput`` or ``NotFound`` for a request it cannot enrich (a 4xx)."""

    keys: tuple[str, ...]

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame: ...


@dataclass(frozen=True, kw_only=True)
class DeploymentPlan:
    """A named deployment: its variants and, optionally, the key that makes assignment sticky.

    With ``batching``, concurrent requests for one variant are predicted together (``batching.py``);
    with ``enrich``, each request's rows get their features from the online store first; with
    ``explain_sample`` (0-1), the inference log explains that share of answered requests
    (``attribution_log``).
    """

    name: str
    variants: tuple[Variant, ...]
    sticky: StickyKey | None = None
    batching: BatchingSpec | None = None
    enrich: Enricher | None = field(default=None, compare=False)
    explain_sample: float = 0.0
    routes: RouteTable = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidInput("a deployment needs a non-empty name")
        object.__setattr__(self, "explain_sample", explain_sample_rate(self.explain_sample))
        names = [v.name for v in self.variants]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidInput(f"deployment {self.name!r}: variant names repeat: {duplicates}", deployment=self.name)
        live = [v for v in self.variants if v.mode is not Mode.SHADOW]
        try:
            table = build_route_table(
                [(v.name, v.mode.value, v.weight) for v in live],
            )
        except InvalidInput as exc:
            raise InvalidInput(f"deployment {self.name!r}: {exc.message}", deployment=self.name) from exc
        object.__setattr__(self, "routes", table)

    @property
    def serving(self) -> tuple[Variant, ...]:
        """The variants whose answers are returned (everything but shadows)."""
        return tuple(v for v in self.variants if v.mode is not Mode.SHADOW)

    @property
    def shadows(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.mode is Mode.SHADOW)

    @property
    def default(self) -> Variant:
        """The primary, or the first A/B variant: what metadata and schema describe."""
        for variant in self.variants:
            if variant.mode is Mode.PRIMARY:
                return variant
        return self.serving[0]

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise NotFound(f"deployment {self.name!r} has no variant {name!r}", deployment=self.name, variant=name)

    def route(self, bucket: int) -> Variant:
        """The serving variant that owns ``bucket`` (0-9999)."""
        return self.variant(self.routes.pick(bucket))


@dataclass(frozen=True)
class ServingPlan:
    """Every deployment one server answers for, by name."""

    deployments: Mapping[str, DeploymentPlan]
    unavailable: Mapping[str, str]  # deployment -> why its models could not be loaded

    def __init__(self, deployments: Iterable[DeploymentPlan], *, unavailable: Mapping[str, str] | None = None) -> None:
        by_name: dict[str, DeploymentPlan] = {}
        for deployment in deployments:
            if deployment.name in by_name:
                raise InvalidInput(f"deployment {deployment.name!r} appears twice in the plan")
            by_name[deployment.name] = deployment
        object.__setattr__(self, "deployments", MappingProxyType(by_name))
        object.__setattr__(self, "unavailable", MappingProxyType(dict(unavailable or {})))

    def get(self, name: str) -> DeploymentPlan:
        """The deployment ``name``; ``BackendUnavailable`` (not ready) for one whose models could
        not be loaded, ``NotFound`` naming the ones that exist otherwise."""
        try:
            return self.deployments[name]
        except KeyError:
            if name in self.unavailable:
                raise BackendUnavailable(
                    f"deployment {name!r} is not ready: {self.unavailable[name]}", deployment=name
                ) from None
            raise NotFound(
                f"no deployment named {name!r} (serving: {sorted(self.deployments)})", deployment=name
            ) from None


class PlanHolder:
    """The plan in force; ``swap`` replaces it atomically while requests keep flowing.

    Readers take ``current`` once per request. Replacing one reference is atomic in CPython, so
    readers need no lock; the lock only orders concurrent writers so ``swap`` returns the plan it
    really replaced.
    """

    def __init__(self, plan: ServingPlan) -> None:
        self._plan = plan
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def current(self) -> ServingPlan:
        return self._plan

    @property
    def generation(self) -> int:
        """How many swaps happened; lets a reloader tell whether its plan is the one in force."""
        return self._generation

    def swap(self, plan: ServingPlan) -> ServingPlan:
        """Put ``plan`` in force for every request that starts from now on; returns the old one."""
        if not isinstance(plan, ServingPlan):
            raise InvalidInput(f"swap needs a ServingPlan, got {type(plan).__name__}")
        with self._lock:
            old, self._plan = self._plan, plan
            self._generation += 1
        return old
