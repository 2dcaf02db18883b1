"""Deployment records: named deployments, their variants (pinned model versions), SLOs and events.

A *deployment* is the durable statement of what a server should answer with: a set of variants,
each one registered model version pinned by number (an alias is resolved when deploying, so a
moving ``@champion`` never changes what is served behind anyone's back), with a mode and a
weight. Every change bumps ``revision``, which servers poll to reload cheaply, and is recorded as
a ``DeploymentEvent`` with its actor and the deployment before and after.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from modelyard.errors import InvalidInput


class VariantMode(enum.StrEnum):
    """How a variant takes part in traffic (the runtime's ``Mode`` has the same values)."""

    PRIMARY = "primary"
    CANARY = "canary"
    SHADOW = "shadow"
    AB = "ab"


class EventKind(enum.StrEnum):
    """What a deployment event records."""

    DEPLOYED = "deployed"
    TRAFFIC = "traffic"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    UNDEPLOYED = "undeployed"
    AUTO_PROMOTED = "auto_promoted"
    AUTO_ROLLED_BACK = "auto_rolled_back"
    BATCHING = "batching"
    FEATURES = "features"
    EXPLAIN_SAMPLE = "explain_sample"


@dataclass(frozen=True, kw_only=True)
class StickySpec:
    """Where the value that pins a caller to one variant comes from: a header or an input field."""

    source: Literal["header", "field"]
    name: str

    def __post_init__(self) -> None:
        if self.source not in ("header", "field"):
            raise InvalidInput(f"sticky key source must be 'header' or 'field', got {self.source!r}")
        if not self.name:
            raise InvalidInput("a sticky key needs a name")


@dataclass(frozen=True, kw_only=True)
class CanarySLO:
    """What a canary must keep to be promoted, judged over ``window_s`` once ``min_requests`` arrived.

    Any threshold left ``None`` is not checked. ``max_error_rate`` and ``max_disagreement`` are
    fractions (0.05 = 5 %); ``max_p95_ms`` is the canary's 95th-percentile latency in milliseconds.
    """

    max_error_rate: float | None = None
    max_p95_ms: float | None = None
    max_disagreement: float | None = None
    min_requests: int = 100
    window_s: float = 300.0

    def __post_init__(self) -> None:
        for label, value in (("max_error_rate", self.max_error_rate), ("max_disagreement", self.max_disagreement)):
            if value is not None and not (0 <= value <= 1):
                raise InvalidInput(f"SLO {label} is a fraction within 0-1, got {value}")
        if self.max_p95_ms is not None and not (self.max_p95_ms > 0 and math.isfinite(self.max_p95_ms)):
            raise InvalidInput(f"SLO max_p95_ms must be a positive number of milliseconds, got {self.max_p95_ms}")
        if self.min_requests < 1:
            raise InvalidInput(f"SLO min_requests must be at least 1, got {self.min_requests}")
        if not (self.window_s > 0 and math.isfinite(self.window_s)):
            raise InvalidInput(f"SLO window_s must be a positive number of seconds, got {self.window_s}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_error_rate": self.max_error_rate,
            "max_p95_ms": self.max_p95_ms,
            "max_disagreement": self.max_disagreement,
            "min_requests": self.min_requests,
            "window_s": self.window_s,
        }


MAX_BATCH_WAIT_MS = 1_000.0


@dataclass(frozen=True, kw_only=True)
class BatchingSpec:
    """Micro-batching of a deployment: concurrent requests predicted in one model call.

    A server gathers requests for one variant until ``max_batch_size`` rows are waiting or
    ``max_wait_ms`` passed since the first of them arrived, whichever comes first. The wait is
    capped at one second: batching trades a little latency for throughput, never a timeout.
    """

    max_batch_size: int
    max_wait_ms: float

    def __post_init__(self) -> None:
        if isinstance(self.max_batch_size, bool) or not isinstance(self.max_batch_size, int):
            raise InvalidInput(f"max batch size must be a whole number, got {self.max_batch_size!r}")
        if self.max_batch_size < 1:
            raise InvalidInput(f"max batch size must be at least 1, got {self.max_batch_size}")
        try:
            wait = float(self.max_wait_ms)
        except (TypeError, ValueError):
            raise InvalidInput(f"max batch wait must be a number of milliseconds, got {self.max_wait_ms!r}") from None
        if not (math.isfinite(wait) and 0 <= wait <= MAX_BATCH_WAIT_MS):
            raise InvalidInput(f"max batch wait must be within 0-{MAX_BATCH_WAIT_MS:g} ms, got {self.max_wait_ms!r}")
        object.__setattr__(self, "max_wait_ms", wait)

    def to_dict(self) -> dict[str, Any]:
        return {"max_batch_size": self.max_batch_size, "max_wait_ms": self.max_wait_ms}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchingSpec:
        return cls(max_batch_size=int(data["max_batch_size"]), max_wait_ms=float(data["max_wait_ms"]))


@dataclass(frozen=True, kw_only=True)
class FeatureLookup:
    """The feature store features a deployment adds to each request before predicting.

    ``features`` are references (``view:feature`` or ``view``); a request carries the views'
    join keys (and on-demand views' request fields) and is enriched from the online store. A
    request naming an entity the store knows nothing about is refused (404) when ``on_missing``
    is ``"reject"``; with ``"default"``, every missing value takes its entry in ``defaults``
    (features without one stay missing, for models that accept that).
    """

    features: tuple[str, ...]
    on_missing: Literal["reject", "default"] = "reject"
    defaults: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        refs = (self.features,) if isinstance(self.features, str) else tuple(self.features)
        if not refs or not all(isinstance(r, str) and r for r in refs):
            raise InvalidInput("a feature lookup names at least one feature ('view:feature' or 'view')")
        object.__setattr__(self, "features", refs)
        if self.on_missing not in ("reject", "default"):
            raise InvalidInput(f"on_missing must be 'reject' or 'default', got {self.on_missing!r}")
        object.__setattr__(self, "defaults", dict(self.defaults))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "on_missing": self.on_missing, "defaults": dict(self.defaults)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureLookup:
        return cls(features=tuple(data["features"]), on_missing=data["on_missing"], defaults=data.get("defaults", {}))


def explain_sample_rate(rate: object) -> float:
    """``rate`` as the share (0-1) of answered requests whose attributions a server logs.

    ``InvalidInput`` for anything else: a percentage such as 5 is refused, not read as 500 %.
    """
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise InvalidInput(f"the explain sample rate must be a number within 0-1, got {rate!r}")
    value = float(rate)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise InvalidInput(f"the explain sample rate is a share of requests within 0-1 (0.05 = 5 %), got {rate!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class VariantSpec:
    """What a caller asks to deploy: a model URI (``models:/m/4`` or ``models:/m@alias``) and a mode."""

    uri: str
    mode: VariantMode = VariantMode.PRIMARY
    weight: float = 0.0
    sample: float = 100.0
    name: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeploymentVariant:
    """One pinned model version inside a deployment.

    ``weight`` is a percentage of traffic for canaries and A/B variants (A/B weights sum to 100)
    and unused for the primary (it takes what canaries leave) and shadows; ``sample`` is the
    percentage of requests a shadow gets a copy of.
    """

    name: str
    model_name: str
    version: int
    mode: VariantMode
    weight: float = 0.0
    sample: float = 100.0

    @property
    def model_version(self) -> str:
        """``name/N``: the label servers return and the lineage node id of the version."""
        return f"{self.model_name}/{self.version}"

    @property
    def uri(self) -> str:
        return f"models:/{self.model_name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model_name": self.model_name,
            "version": self.version,
            "mode": self.mode.value,
            "weight": self.weight,
            "sample": self.sample,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeploymentVariant:
        return cls(
            name=data["name"],
            model_name=data["model_name"],
            version=int(data["version"]),
            mode=VariantMode(data["mode"]),
            weight=float(data.get("weight", 0.0)),
            sample=float(data.get("sample", 100.0)),
        )


@dataclass(frozen=True, kw_only=True)
class Deployment:
    """A named deployment as stored: its variants, routing key, canary SLO, batching and change counter.

    ``previous_primary`` is the primary that served before the last promotion: what ``rollback``
    restores when no canary is running.
    """

    name: str
    variants: tuple[DeploymentVariant, ...]
    revision: int
    created_at: int
    updated_at: int
    created_by: str
    sticky: StickySpec | None = None
    slo: CanarySLO | None = None
    previous_primary: DeploymentVariant | None = None
    batching: BatchingSpec | None = None
    features: FeatureLookup | None = None
    explain_sample: float = 0.0

    @property
    def primary(self) -> DeploymentVariant | None:
        return next((v for v in self.variants if v.mode is VariantMode.PRIMARY), None)

    @property
    def canaries(self) -> tuple[DeploymentVariant, ...]:
        return tuple(v for v in self.variants if v.mode is VariantMode.CANARY)

    @property
    def shadows(self) -> tuple[DeploymentVariant, ...]:
        return tuple(v for v in self.variants if v.mode is VariantMode.SHADOW)

    def variant(self, name: str) -> DeploymentVariant | None:
        return next((v for v in self.variants if v.name == name), None)

    def traffic(self) -> dict[str, float]:
        """Each serving variant's share of requests in percent (shadows get copies, not shares)."""
        ab = [v for v in self.variants if v.mode is VariantMode.AB]
        if ab:
            return {v.name: v.weight for v in ab}
        canaries = self.canaries
        shares = {v.name: v.weight for v in canaries}
        if self.primary is not None:
            shares = {self.primary.name: 100.0 - sum(shares.values()), **shares}
        return shares

    def summary(self) -> dict[str, Any]:
        """The deployment as plain data: what events record as ``before`` and ``after``."""
        return {
            "revision": self.revision,
            "variants": [v.to_dict() for v in self.variants],
            "sticky": None if self.sticky is None else {"source": self.sticky.source, "name": self.sticky.name},
            "slo": None if self.slo is None else self.slo.to_dict(),
            "previous_primary": None if self.previous_primary is None else self.previous_primary.to_dict(),
            "batching": None if self.batching is None else self.batching.to_dict(),
            "features": None if self.features is None else self.features.to_dict(),
            "explain_sample": self.explain_sample,
        }


_DETAIL_TEXT = ("decided_by", "reason", "action", "variant", "model", "model_version", "pipeline")
_DETAIL_IDS = ("pipeline_run_id", "step_run_id", "gate_verdict")


@dataclass(frozen=True, kw_only=True)
class EventDetails:
    """Why a deployment changed, in one shape whoever changed it.

    A person (CLI, SDK) usually gives no more than a ``reason``. The SLO watcher records
    ``decided_by="slo-watcher"``, the canary ``variant`` and ``model_version``, the ``slo``, the
    measured ``figures`` and its verdict (``action`` and one sentence per figure in ``reasons``).
    A pipeline's ``deploy_canary`` records the ``pipeline`` run and step and the gate verdict
    (``gate_verdict``, the version's verdict tag) that blessed ``model``. Events stored before this
    shape existed held free-form dicts (the watcher's ``verdict`` a dict, ``deploy_canary``'s a
    string); ``from_dict`` reads both, and keys it does not know stay in ``extra``.
    """

    decided_by: str | None = None
    reason: str | None = None
    action: str | None = None
    reasons: tuple[str, ...] = ()
    variant: str | None = None
    model: str | None = None
    model_version: str | None = None
    slo: dict[str, Any] | None = None
    figures: dict[str, Any] | None = None
    pipeline: str | None = None
    pipeline_run_id: str | None = None
    step_run_id: str | None = None
    gate_verdict: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fields that are set, as JSON-ready values (what the store and the audit trail keep)."""
        out: dict[str, Any] = {}
        for name in (*_DETAIL_TEXT, *_DETAIL_IDS, "slo", "figures"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.reasons:
            out["reasons"] = list(self.reasons)
        return {**self.extra, **out}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EventDetails:
        """Read stored details, in this shape or an older free-form one."""
        rest = dict(data or {})
        verdict = rest.pop("verdict", None)
        known: dict[str, Any] = {}
        for name in (*_DETAIL_TEXT, *_DETAIL_IDS):
            value = rest.pop(name, None)
            if value is not None:
                known[name] = str(value)
        for name in ("slo", "figures"):
            value = rest.pop(name, None)
            if isinstance(value, dict):
                known[name] = value
        reasons = rest.pop("reasons", None)
        if isinstance(verdict, dict):  # the SLO watcher's verdict, before it was flattened
            known.setdefault("action", verdict.get("action"))
            reasons = reasons or verdict.get("reasons")
        elif isinstance(verdict, str):  # deploy_canary's gate verdict tag
            known.setdefault("gate_verdict", verdict)
        return cls(
            **known,
            reasons=tuple(str(r) for r in reasons) if isinstance(reasons, list | tuple) else (),
            extra=rest,
        )


@dataclass(frozen=True, kw_only=True)
class DeploymentEvent:
    """One change of a deployment: who, when, what kind, the state before and after, and why
    (``details``: what drove it, see ``EventDetails``)."""

    id: int
    deployment: str
    kind: EventKind
    actor: str
    time_ms: int
    revision: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    details: EventDetails = field(default_factory=lambda: EventDetails())
