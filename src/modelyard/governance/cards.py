"""Model cards: generated for any model version from what the store already knows, plus the
fields people fill in (intended use, out-of-scope use, limitations, ethical considerations,
caveats, which make a card complete; and the Model Card Toolkit fields no record fills:
documentation, licenses, references, citations, users, input and output format in words; stored
per version).

Sections follow Google's Model Card Toolkit (model details, model parameters, quantitative
analysis, considerations) and Hugging Face's card (uses; bias, risks and limitations; training
details; evaluation), with what only a platform knows added: the gate verdict, lineage,
approvals, deployments, the audit history, and the explainability and bias examination recorded
on the version (global SHAP importances, per-group fairness figures). A field filled from records that has nothing to
say says so in words ("no deployment serves this version"), so an empty field always means a
person has not written it yet.

Performance figures are the evaluation's, not the run's bookkeeping: for a version trained by a
pipeline, the runner's per-step figures (``duration_s``, ``attempts``) go to the training-run
field, and the validation gate's evaluation of the candidate (``candidate.<metric>`` on the run
its verdict names) comes first, and feeds the Hugging Face ``model-index``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, inspect

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.data import DatasetVersion, RunInput
from modelyard.domain.governance import (
    CARD_EXTRA_FIELDS,
    CARD_FIELDS,
    GATE_CANDIDATE_METRIC_PREFIX,
    GATE_VERDICT_TAG,
    ApprovalRequest,
    AuditEvent,
    DocField,
    DocSection,
    Document,
    FieldSource,
    Permission,
    Scope,
)
from modelyard.domain.lineage import LineageEdge, NodeKind, NodeRef
from modelyard.domain.pipelines import STEP_BOOKKEEPING_METRICS, STEP_TAG
from modelyard.domain.registry import LoggedModel, ModelVersion, RegisteredModel
from modelyard.domain.serving import Deployment
from modelyard.domain.tracking import Run
from modelyard.errors import InvalidInput, NotFound
from modelyard.governance._explainability import explanation_data_text, fairness_text, importance_text
from modelyard.governance.access import guarded, require
from modelyard.governance.actors import ActorProvider, actor_provider
from modelyard.governance.audit import append
from modelyard.store.db import Database
from modelyard.store.repos import approvals as approval_rows
from modelyard.store.repos import audit as audit_rows
from modelyard.store.repos import datasets as dataset_rows
from modelyard.store.repos import deployments as deployment_rows
from modelyard.store.repos import lineage as lineage_rows
from modelyard.store.repos import logged_models as logged_model_rows
from modelyard.store.repos import model_versions as version_rows
from modelyard.store.repos import registered_models as model_rows
from modelyard.store.repos import run_inputs as run_input_rows
from modelyard.store.repos import runs as run_rows
from modelyard.uris import parse_run_uri

GATE_TAG_PREFIX = "modelyard.gate."
CARD_LABELS = {
    "intended_use": "Intended use",
    "out_of_scope_use": "Out-of-scope use",
    "limitations": "Limitations",
    "ethical_considerations": "Ethical considerations",
    "caveats": "Caveats and recommendations",
    "documentation": "Documentation",
    "licenses": "Licenses",
    "references": "References",
    "citations": "Citations",
    "users": "Intended users",
    "input_description": "Input format, in words",
    "output_description": "Output format, in words",
}
PERSON_FIELDS = (*CARD_FIELDS, *CARD_EXTRA_FIELDS)
"""Every field a person may set; only ``CARD_FIELDS`` are needed for a complete card."""
_SPDX_ID = re.compile(r"[a-z0-9][a-z0-9.+-]*")


@dataclass(frozen=True, kw_only=True)
class VersionFacts:
    """Everything the store records about one model version, gathered in one read transaction."""

    model: RegisteredModel
    version: ModelVersion
    logged: LoggedModel | None
    run: Run | None
    inputs: list[tuple[RunInput, DatasetVersion | None]]
    upstream: list[LineageEdge]
    approvals: list[ApprovalRequest]
    deployments: list[Deployment]
    history: list[AuditEvent]
    people: dict[str, str] = field(default_factory=dict)
    gate_run: Run | None = None
    """The run of the validation gate whose verdict the version carries (its evaluation)."""
    gate_datasets: list[str] = field(default_factory=list)
    """The datasets the gate's run took as inputs (its holdout)."""

    @property
    def subject(self) -> str:
        return f"{self.version.name}/{self.version.version}"


def gather(conn: Connection, name: str, version: int) -> VersionFacts:
    """Read every record about ``name``/``version`` the card and the compliance report use."""
    model = model_rows.get(conn, name)
    found = version_rows.get(conn, name, version)
    if model is None or found is None:
        raise NotFound(f"no version {version} of registered model {name!r}")
    logged = logged_model_rows.get(conn, found.model_id)
    runs = run_rows.get_many(conn, [found.run_id]) if found.run_id else []
    run = runs[0] if runs else None
    inputs = [
        (ri, dataset_rows.get_version(conn, ri.dataset_name, ri.digest))
        for ri in (run_input_rows.for_run(conn, run.info.run_id) if run else [])
    ]
    gate_run = _gate_run(conn, found)
    nodes = [NodeRef(kind=NodeKind.MODEL_VERSION, id=f"{name}/{version}")]
    if logged is not None:
        nodes.append(NodeRef(kind=NodeKind.LOGGED_MODEL, id=logged.model_id))
    if run is not None:
        nodes.append(NodeRef(kind=NodeKind.RUN, id=run.info.run_id))
    deployments: list[Deployment] = []
    if inspect(conn).has_table("deployments"):
        deployments = [
            d
            for d in deployment_rows.list_all(conn)
            if any(v.model_name == name and v.version == version for v in d.variants)
        ]
    return VersionFacts(
        model=model,
        version=found,
        logged=logged,
        run=run,
        inputs=inputs,
        upstream=lineage_rows.upstream(conn, nodes),
        approvals=[a for a in approval_rows.list_requests(conn, model_name=name) if a.version == version],
        deployments=deployments,
        history=audit_rows.search(conn, object_kind="model_version", object_id=f"{name}/{version}"),
        people=approval_rows.card_fields(conn, name, version),
        gate_run=gate_run,
        gate_datasets=sorted({i.dataset_name for i in run_input_rows.for_run(conn, gate_run.info.run_id)})
        if gate_run is not None
        else [],
    )


def _gate_run(conn: Connection, version: ModelVersion) -> Run | None:
    """The run named by the version's gate verdict tag (``runs:/<id>/gate/verdict.json``), if any."""
    location = version.tags.get(GATE_VERDICT_TAG, "")
    if not location.startswith("runs:/"):
        return None
    try:
        run_id = parse_run_uri(location).run_id
    except InvalidInput:
        return None
    found = run_rows.get_many(conn, [run_id])
    return found[0] if found else None


def _f(key: str, label: str, value: str) -> DocField:
    return DocField(key=key, label=label, value=value)


def _datasets(facts: VersionFacts, roles: set[str]) -> str:
    lines = []
    for ri, dv in facts.inputs:
        if ri.role.value not in roles:
            continue
        if dv is None:
            lines.append(f"{ri.uri} ({ri.role.value}; version record missing)")
            continue
        cols = ", ".join(f"{c.name}:{c.type}" for c in dv.columns[:20])
        more = f" (+{len(dv.columns) - 20} more)" if len(dv.columns) > 20 else ""
        lines.append(
            f"{dv.uri} ({ri.role.value}): {dv.row_count} rows, {len(dv.columns)} columns [{cols}{more}], "
            f"{dv.size_bytes} bytes, source {dv.source_uri or 'not recorded (logged from memory)'}, "
            f"logged by {dv.created_by}"
        )
    return "\n".join(lines) or "no dataset of this role was logged on the training run"


def _profiles(facts: VersionFacts) -> str:
    lines = []
    for ri, dv in facts.inputs:
        if dv is None:
            continue
        for col in dv.profile.columns[:30]:
            stats = {k: v for k, v in col.to_dict().items() if k not in ("name", "histogram", "top_values") and v}
            shown = ", ".join(f"{k}={_short(v)}" for k, v in list(stats.items())[:8])
            lines.append(f"{ri.dataset_name}.{col.name}: {shown}")
    return "\n".join(lines) or "no dataset profile recorded"


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def build_card(facts: VersionFacts, *, now_ms: int) -> Document:
    """The model card of one version as a ``Document``."""
    v, run, logged = facts.version, facts.run, facts.logged
    signature = logged.signature if logged else None
    inputs_desc = ", ".join(f"{c.name}:{c.dtype}" for c in signature.inputs) if signature else ""
    outputs_desc = ", ".join(_output_spec(c) for c in signature.outputs) if signature else ""
    params = run.data.params if run else {}
    evaluated, trained = _performance(facts)
    gate = {k[len(GATE_TAG_PREFIX) :]: val for k, val in v.tags.items() if k.startswith(GATE_TAG_PREFIX)}
    details = [
        _f("name", "Name", v.name),
        _f("version", "Version", str(v.version)),
        _f("stage", "Stage", v.stage.value),
        _f("aliases", "Aliases", ", ".join(f"@{a}" for a in v.aliases) or "no alias points at this version"),
        _f("description", "Overview", v.description or facts.model.description or f"registered model {v.name}"),
        _f("owners", "Owners (run author)", run.info.user if run else "the training run is not in the store"),
        _f("created", "Registered", iso(v.creation_time)),
        _f("source", "Source", v.source),
        _f("digest", "Model digest", v.digest),
        _f(
            "code",
            "Code version",
            (run.info.source.git_commit or "no git commit recorded") if run else "no run",
        ),
        *_person("documentation", "licenses", "references", "citations", people=facts.people),
    ]
    parameters = [
        _f("architecture", "Model architecture (flavor)", v.flavor),
        _f("input_format", "Input format", inputs_desc or "no signature was logged with the model"),
        _f("output_format", "Output format", outputs_desc or "no output schema was logged with the model"),
        *_person("input_description", "output_description", people=facts.people),
        _f(
            "hyperparameters",
            "Hyperparameters",
            "\n".join(f"{k} = {val}" for k, val in sorted(params.items())) or "no parameter was logged",
        ),
    ]
    training = [
        _f("training_data", "Training data", _datasets(facts, {"train"})),
        _f("profiles", "Data profiles", _profiles(facts)),
        _f("training_run", "Training run", _training_run(run)),
    ]
    evaluation = [
        _f("evaluation_data", "Evaluation data", _datasets(facts, {"validation", "test"})),
        _f("metrics", "Performance metrics (incl. slices)", _performance_text(facts, evaluated, trained)),
        _f(
            "gate",
            "Validation gate verdict",
            "\n".join(f"{k} = {val}" for k, val in sorted(gate.items())) or "no validation gate ran on this version",
        ),
    ]
    explainability = [
        _f("explainability", "Global explanation (feature attributions)", importance_text(v)),
        _f("explanation_data", "Data the explanation was computed on", explanation_data_text(v)),
        _f("fairness", "Bias examination (per-group metrics and gaps)", fairness_text(v)),
    ]
    considerations = _person("users", *CARD_FIELDS, people=facts.people)
    governance = [
        _f(
            "lineage",
            "Lineage (upstream)",
            "\n".join(_edge_line(e) for e in facts.upstream) or "no upstream lineage recorded",
        ),
        _f(
            "approvals",
            "Approvals",
            "\n".join(_approval_line(a) for a in facts.approvals) or "no approval was requested for this version",
        ),
        _f(
            "deployments",
            "Deployments",
            "\n".join(_deployment_line(d, v) for d in facts.deployments) or "no deployment serves this version",
        ),
        _f(
            "history",
            "History (audit trail)",
            "\n".join(f"#{e.seq} {iso(e.time_ms)} {e.actor}: {e.action}" for e in facts.history) or "no audited change",
        ),
    ]
    return Document(
        kind="model_card",
        title=f"Model card: {facts.subject}",
        subject=facts.subject,
        generated_ms=now_ms,
        front_matter=hub_metadata(facts, evaluated or trained),
        sections=(
            DocSection(key="model_details", title="Model details", fields=tuple(details)),
            DocSection(key="model_parameters", title="Model parameters", fields=tuple(parameters)),
            DocSection(key="training", title="Training details", fields=tuple(training)),
            DocSection(key="evaluation", title="Evaluation and quantitative analysis", fields=tuple(evaluation)),
            DocSection(key="explainability", title="Explainability and bias", fields=tuple(explainability)),
            DocSection(key="considerations", title="Uses, risks and limitations", fields=tuple(considerations)),
            DocSection(key="governance", title="Governance", fields=tuple(governance)),
        ),
    )


def _person(*keys: str, people: Mapping[str, str]) -> list[DocField]:
    return [DocField(key=k, label=CARD_LABELS[k], value=people.get(k, ""), source=FieldSource.PERSON) for k in keys]


def _is_pipeline_step(run: Run | None) -> bool:
    return run is not None and STEP_TAG in run.data.tags


def _performance(facts: VersionFacts) -> tuple[dict[str, float], dict[str, float]]:
    """The gate's evaluation of the candidate (``{}`` without one) and the training run's metrics,
    without a pipeline step's bookkeeping."""
    gate = facts.gate_run.data.metrics if facts.gate_run is not None else {}
    evaluated = {
        k[len(GATE_CANDIDATE_METRIC_PREFIX) :]: val
        for k, val in gate.items()
        if k.startswith(GATE_CANDIDATE_METRIC_PREFIX)
    }
    run = facts.run
    skipped = set(STEP_BOOKKEEPING_METRICS) if _is_pipeline_step(run) else set()
    trained = {k: val for k, val in (run.data.metrics if run else {}).items() if k not in skipped}
    return evaluated, trained


def _performance_text(facts: VersionFacts, evaluated: Mapping[str, float], trained: Mapping[str, float]) -> str:
    def lines(metrics: Mapping[str, float]) -> list[str]:
        return [f"{k} = {val:.6g}" for k, val in sorted(metrics.items())]

    if not evaluated:
        return "\n".join(lines(trained)) or "no metric was logged"
    assert facts.gate_run is not None
    holdout = ", ".join(facts.gate_datasets) or "its holdout"
    text = [f"evaluated by the validation gate (run {facts.gate_run.info.run_id}) on {holdout}:", *lines(evaluated)]
    if trained:
        text += ["logged by the training run:", *lines(trained)]
    return "\n".join(text)


def _training_run(run: Run | None) -> str:
    if run is None:
        return "the training run is not in the store"
    end = iso(run.info.end_time) if run.info.end_time else "still running"
    text = f"run {run.info.run_id} ({run.info.run_name}), status {run.info.status.value}, "
    text += f"{iso(run.info.start_time)} to {end}"
    if _is_pipeline_step(run):
        duration, attempts = (run.data.metrics.get(k) for k in STEP_BOOKKEEPING_METRICS)
        pipeline = run.data.tags.get("modelyard.pipeline", "a pipeline")
        text += f"; step {run.data.tags[STEP_TAG]} of pipeline {pipeline}"
        if attempts is not None:
            text += f", {attempts:g} attempt(s)"
        if duration is not None:
            text += f", {duration:.3g} s"
    return text


def _output_spec(spec: Any) -> str:
    """``prediction:int64`` for a column, ``int64 array of shape [-1]`` for a tensor (not a Python repr)."""
    name = getattr(spec, "name", None)
    if name:
        return f"{name}:{spec.dtype}"
    return f"{spec.dtype} array of shape {list(spec.shape)}"


def hub_metadata(facts: VersionFacts, metrics: Mapping[str, float]) -> dict[str, Any]:
    """The card's YAML header in Hugging Face's model card metadata (``huggingface_hub.ModelCardData``):
    license (``other`` until a person names one license identifier in the ``licenses`` field), tags,
    training datasets, metrics and a ``model-index`` of ``metrics`` (the evaluation's when known)."""
    v = facts.version
    datasets = sorted({i.dataset_name for i, _ in facts.inputs if i.role.value == "train"})
    evaluated = sorted({i.dataset_name for i, _ in facts.inputs if i.role.value in ("validation", "test")})
    numbers = [{"type": k, "name": k, "value": float(val)} for k, val in sorted(metrics.items()) if math.isfinite(val)]
    named = facts.people.get("licenses", "").strip().lower()
    meta: dict[str, Any] = {
        "license": named if _SPDX_ID.fullmatch(named) else "other",
        "library_name": "modelyard",
        "tags": ["modelyard", v.flavor, f"stage-{v.stage.value.lower()}"],
    }
    if datasets:
        meta["datasets"] = datasets
    if numbers:
        meta["metrics"] = [n["type"] for n in numbers]
        gated = facts.gate_datasets if _performance(facts)[0] else []  # the figures are the gate's
        dataset = (gated or evaluated or datasets or [v.name])[0]
        meta["model-index"] = [
            {
                "name": v.name,
                "results": [
                    {
                        "task": {"type": "tabular-prediction", "name": "prediction"},
                        "dataset": {"type": dataset, "name": dataset},
                        "metrics": numbers,
                    }
                ],
            }
        ]
    return meta


def _edge_line(e: LineageEdge) -> str:
    return f"{e.source.kind.value}:{e.source.id} -{e.relation.value}-> {e.target.kind.value}:{e.target.id}"


def _approval_line(a: ApprovalRequest) -> str:
    decided = "; ".join(
        f"{'approved' if d.approved else 'rejected'} by {d.approver} {iso(d.time_ms)}"
        + (f" ({d.comment})" if d.comment else "")
        for d in a.decisions
    )
    return (
        f"#{a.id} {a.kind.value} {a.target} requested by {a.requested_by} {iso(a.created_ms)}"
        f"{' (' + a.reason + ')' if a.reason else ''}: {a.status.value}{'; ' + decided if decided else ''}"
    )


def _deployment_line(d: Deployment, v: ModelVersion) -> str:
    modes = [
        f"{var.mode.value} weight {var.weight:g}%"
        for var in d.variants
        if var.model_name == v.name and var.version == v.version
    ]
    return f"{d.name} (revision {d.revision}): {', '.join(modes)}"


def iso(ms: int | None) -> str:
    if ms is None:
        return "unknown"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class ModelCardService:
    """Build model cards and record the fields people fill in."""

    def __init__(self, db: Database, actor: ActorProvider | str | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._actor = actor_provider(actor)
        self._clock = clock

    def card(self, name: str, version: int) -> Document:
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.READ, Scope.model(name), now_ms=self._clock.now_ms())
        with self._db.read() as conn:
            return build_card(gather(conn, name, version), now_ms=self._clock.now_ms())

    def set_fields(self, name: str, version: int, values: dict[str, str]) -> dict[str, str]:
        """Fill (or overwrite) people-written fields; unknown field names are ``InvalidInput``."""
        unknown = sorted(set(values) - set(PERSON_FIELDS))
        if unknown:
            raise InvalidInput(f"unknown model card field(s) {', '.join(unknown)}; use {', '.join(PERSON_FIELDS)}")
        actor = self._actor()
        now = self._clock.now_ms()
        with guarded(self._db, self._clock) as conn:
            require(conn, actor, Permission.REGISTER, Scope.model(name), now_ms=now)
            if version_rows.get(conn, name, version) is None:
                raise NotFound(f"no version {version} of registered model {name!r}")
            approval_rows.set_card_fields(conn, name, version, values, actor=actor.name, now_ms=now)
            append(conn, actor, "model_card.updated", "model_version", f"{name}/{version}", values, now_ms=now)
            return approval_rows.card_fields(conn, name, version)
