"""The validation gate: absolute thresholds and comparison with the ``@champion`` on one holdout.

Like TFX's Evaluator, the gate evaluates the candidate and the baseline (the current champion)
on the same data and blesses the candidate only when every check holds:

* thresholds: ``metric >= min`` / ``metric <= max`` (e.g. ``roc_auc >= 0.85``);
* champion: for each compared metric, not worse than the champion by more than ``max_regression``
  (δ, in the metric's units; lower-is-better metrics such as RMSE are compared the other way);
* slices: no slice's metric worse than the champion's same slice by more than ``max_slice_regression`` (ε);
* fairness: for each ``sensitive`` attribute (a column of the holdout, model input or not), the
  demographic parity difference and ratio and the equalized odds difference within bounds; a
  failed check names the group furthest behind and its figure.

The verdict (blessed or not, with every check and figure) is stored on the candidate version as
tags (``modelyard.gate.blessed``, ``modelyard.gate.verdict``) and as ``gate/verdict.json`` in the
gate step's run, where the candidate's metrics are logged too (``candidate.<metric>``: its model
card's performance figures); a blessed candidate becomes ``@challenger``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from modelyard.domain.explain import FAIRNESS_TAG, FairnessGaps, FairnessReport
from modelyard.domain.governance import GATE_BLESSED_TAG, GATE_CANDIDATE_METRIC_PREFIX, GATE_VERDICT_TAG
from modelyard.errors import InvalidInput, NotFound
from modelyard.pipelines.evaluation import LOWER_IS_BETTER, evaluate_model
from modelyard.pipelines.steps import StepContext, step
from modelyard.registry._validation import MAX_TAG_VALUE_LENGTH
from modelyard.sdk.client import Client
from modelyard.uris import parse_model_uri, parse_run_uri

BLESSED_TAG = GATE_BLESSED_TAG
VERDICT_TAG = GATE_VERDICT_TAG
VERDICT_FILE = "gate/verdict.json"
FAIRNESS_FILE = "gate/fairness.json"


@dataclass(frozen=True, kw_only=True)
class Threshold:
    """An absolute bound on one metric of the candidate."""

    metric: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, kw_only=True)
class GateCriteria:
    """What a candidate must show to be blessed (see the module docstring)."""

    thresholds: tuple[Threshold, ...] = ()
    compare: tuple[str, ...] = ()
    max_regression: float = 0.0
    max_slice_regression: float = 0.05
    slice_by: tuple[str, ...] = ()
    champion_alias: str = "champion"
    sensitive: tuple[str, ...] = ()
    max_demographic_parity_difference: float | None = None
    min_demographic_parity_ratio: float | None = None
    max_equalized_odds_difference: float | None = None


@dataclass(frozen=True, kw_only=True)
class GateCheck:
    """One check: what was compared, the candidate's figure, the reference figure, and the outcome."""

    name: str
    metric: str
    candidate: float | None
    reference: float | None
    passed: bool
    detail: str


@dataclass(frozen=True, kw_only=True)
class Verdict:
    blessed: bool
    model: str
    champion: str | None
    checks: tuple[GateCheck, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            blessed=bool(data["blessed"]),
            model=data["model"],
            champion=data.get("champion"),
            checks=tuple(GateCheck(**c) for c in data.get("checks", [])),
        )


def _worse_by(metric: str, candidate: float, reference: float) -> float:
    """How much worse the candidate is (positive = worse), whichever direction the metric goes."""
    return candidate - reference if metric in LOWER_IS_BETTER else reference - candidate


def judge(
    candidate: dict[str, Any],
    champion: dict[str, Any] | None,
    criteria: GateCriteria,
    *,
    model: str,
    champion_uri: str | None,
) -> Verdict:
    """The verdict for evaluations of the candidate and (optionally) the champion on the same holdout."""
    checks: list[GateCheck] = []
    for t in criteria.thresholds:
        value = candidate.get(t.metric)
        if value is None:
            checks.append(
                GateCheck(
                    name="threshold",
                    metric=t.metric,
                    candidate=None,
                    reference=t.min if t.min is not None else t.max,
                    passed=False,
                    detail="metric not computed",
                )
            )
            continue
        if t.min is not None:
            checks.append(
                GateCheck(
                    name="threshold",
                    metric=t.metric,
                    candidate=value,
                    reference=t.min,
                    passed=value >= t.min,
                    detail=f">= {t.min:g}",
                )
            )
        if t.max is not None:
            checks.append(
                GateCheck(
                    name="threshold",
                    metric=t.metric,
                    candidate=value,
                    reference=t.max,
                    passed=value <= t.max,
                    detail=f"<= {t.max:g}",
                )
            )
    if champion is not None:
        for metric in criteria.compare:
            c, r = candidate.get(metric), champion.get(metric)
            if c is None or r is None:
                checks.append(
                    GateCheck(
                        name="vs champion",
                        metric=metric,
                        candidate=c,
                        reference=r,
                        passed=False,
                        detail="metric not computed",
                    )
                )
                continue
            worse = _worse_by(metric, c, r)
            checks.append(
                GateCheck(
                    name="vs champion",
                    metric=metric,
                    candidate=c,
                    reference=r,
                    passed=worse <= criteria.max_regression,
                    detail=f"worse by {worse:+.4f}, δ = {criteria.max_regression:g}",
                )
            )
        for column in criteria.slice_by:
            cand_slices = candidate.get("slices", {}).get(column, {})
            champ_slices = champion.get("slices", {}).get(column, {})
            for value, figures in sorted(cand_slices.items()):
                for metric in criteria.compare:
                    c, r = figures.get(metric), champ_slices.get(value, {}).get(metric)
                    if c is None or r is None:
                        continue
                    worse = _worse_by(metric, c, r)
                    checks.append(
                        GateCheck(
                            name=f"slice {column}={value}",
                            metric=metric,
                            candidate=c,
                            reference=r,
                            passed=worse <= criteria.max_slice_regression,
                            detail=f"worse by {worse:+.4f}, ε = {criteria.max_slice_regression:g}",
                        )
                    )
    checks.extend(fairness_checks(candidate.get("fairness"), criteria))
    return Verdict(blessed=all(c.passed for c in checks), model=model, champion=champion_uri, checks=tuple(checks))


def fairness_checks(fairness: dict[str, Any] | None, criteria: GateCriteria) -> list[GateCheck]:
    """One check per sensitive attribute and bounded gap; each names the group furthest behind."""
    bounds = (
        ("demographic_parity_difference", criteria.max_demographic_parity_difference, "max", "selection_rate"),
        ("demographic_parity_ratio", criteria.min_demographic_parity_ratio, "min", "selection_rate"),
        ("equalized_odds_difference", criteria.max_equalized_odds_difference, "max", None),
    )
    wanted = [(metric, bound, kind, rate) for metric, bound, kind, rate in bounds if bound is not None]
    if not criteria.sensitive or not wanted:
        return []
    report = FairnessReport.from_dict(fairness) if fairness else None
    checks: list[GateCheck] = []
    for attribute in criteria.sensitive:
        try:
            found = report.gaps_for(attribute) if report is not None else None
        except KeyError:
            found = None
        for metric, bound, kind, rate in wanted:
            name = f"fairness {attribute}"
            assert bound is not None
            if found is None or report is None:
                checks.append(
                    GateCheck(
                        name=name,
                        metric=metric,
                        candidate=None,
                        reference=bound,
                        passed=False,
                        detail="fairness not computed",
                    )
                )
                continue
            value = float(getattr(found, metric))
            passed = value <= bound if kind == "max" else value >= bound
            op = "<=" if kind == "max" else ">="
            checks.append(
                GateCheck(
                    name=name,
                    metric=metric,
                    candidate=value,
                    reference=bound,
                    passed=passed,
                    detail=f"{op} {bound:g}; {_behind(report, attribute, found, rate)}",
                )
            )
    return checks


def _behind(report: FairnessReport, attribute: str, gaps: FairnessGaps, rate: str | None) -> str:
    """Which group is furthest behind, with its figure against the best group's."""
    groups = [g for g in report.groups if g.attribute == attribute]
    parts = []
    for figure in (rate,) if rate else ("tpr", "fpr"):
        values = {g.group: float(getattr(g, figure)) for g in groups}
        worst = gaps.worst[figure]
        best = (max if figure != "fpr" else min)(values, key=lambda k: values[k])
        parts.append(f"group {attribute}={worst} has {figure} {values[worst]:.4f} vs {values[best]:.4f} for {best}")
    return "; ".join(parts)


@step
def register(model: Any, name: str, context: StepContext) -> dict[str, Any]:
    """Built-in step: register the model a step produced as the next version of ``name``."""
    source = context.inputs.get("model")
    if source is None or not source.startswith("runs:/"):
        raise InvalidInput("register takes the output of a step that returned a model")
    version = context.client.registry.register_model(source, name)
    return {"name": version.name, "version": version.version, "uri": version.uri}


@step(cache=False)
def gate(
    version: dict[str, Any],
    holdout: pd.DataFrame,
    target: str,
    criteria: GateCriteria,
    context: StepContext,
    task: str = "classification",
) -> dict[str, Any]:
    """Built-in step: evaluate the registered candidate and the champion on ``holdout``, judge, and
    store the verdict on the candidate (tags + JSON artifact); a blessed candidate becomes ``@challenger``.

    Never cached: the champion it compares against can change between runs."""
    registry = context.client.registry
    name, number = str(version["name"]), int(version["version"])
    candidate_uri = f"models:/{name}/{number}"
    candidate = evaluate_model(
        registry.load_model(candidate_uri),
        holdout,
        target=target,
        task=task,
        slice_by=criteria.slice_by,
        sensitive=criteria.sensitive,
    )
    champion_eval = None
    champion_uri = None
    try:
        champion_version = registry.get_model_version_by_alias(name, criteria.champion_alias)
    except NotFound:
        champion_version = None
    if champion_version is not None and champion_version.version != number:
        champion_uri = f"models:/{name}/{champion_version.version}"
        champion_eval = evaluate_model(
            registry.load_model(champion_uri), holdout, target=target, task=task, slice_by=criteria.slice_by
        )
    verdict = judge(candidate, champion_eval, criteria, model=candidate_uri, champion_uri=champion_uri)
    figures = {
        f"{GATE_CANDIDATE_METRIC_PREFIX}{k}": float(v)
        for k, v in candidate.items()
        if k != "rows" and isinstance(v, int | float) and not isinstance(v, bool)
    }
    context.client.log_metrics(context.run_id, figures)  # the candidate's evaluation, for its model card
    context.client.log_dict(context.run_id, verdict.to_dict(), VERDICT_FILE)
    context.client.backend.model_versions.record_gate_verdict(
        name, number, blessed=verdict.blessed, verdict_uri=f"runs:/{context.run_id}/{VERDICT_FILE}"
    )
    if "fairness" in candidate:
        record_fairness(context, name, number, candidate["fairness"], holdout_uri=context.inputs.get("holdout", ""))
    if verdict.blessed:
        registry.set_registered_model_alias(name, "challenger", number)
    return {
        "blessed": verdict.blessed,
        "failed_checks": float(sum(not c.passed for c in verdict.checks)),
        "model": candidate_uri,
    }


def record_fairness(
    context: StepContext, name: str, number: int, fairness: dict[str, Any], *, holdout_uri: str
) -> None:
    """Keep the fairness figures with the version (tag ``modelyard.fairness.summary``) and the step's run."""
    report = dataclasses.replace(
        FairnessReport.from_dict(fairness),
        data=holdout_uri or "the gate's holdout",
        model=f"models:/{name}/{number}",
        location=f"runs:/{context.run_id}/{FAIRNESS_FILE}",
    )
    context.client.log_dict(context.run_id, report.to_dict(), FAIRNESS_FILE)
    text = json.dumps(report.to_dict(), separators=(",", ":"))
    if len(text) > MAX_TAG_VALUE_LENGTH:  # many groups: the gaps stay in the tag, the groups in the file
        text = json.dumps(dataclasses.replace(report, groups=()).to_dict(), separators=(",", ":"))
    context.client.backend.model_versions.record_assessment(name, number, FAIRNESS_TAG, text)


def read_verdict(client: Client, model_uri: str) -> Verdict:
    """The stored verdict of ``models:/<name>/<version>`` or ``models:/<name>@<alias>``."""
    parsed = parse_model_uri(model_uri)
    registry = client.registry
    if parsed.version is not None:
        version = registry.get_model_version(parsed.name, parsed.version)
    else:
        version = registry.get_model_version_by_alias(parsed.name, str(parsed.alias))
    location = version.tags.get(VERDICT_TAG)
    if location is None:
        raise NotFound(
            f"model {parsed.name} version {version.version} has no gate verdict; run a pipeline with the gate step"
        )
    uri = parse_run_uri(location)
    return Verdict.from_dict(json.loads(client.backend.artifacts.read_bytes(uri.run_id, uri.path)))
