"""Data validation: declared expectations checked with pandera, every failure reported.

Expectations are plain frozen dataclasses (so they hash into a step's cache key and read well in
a pipeline file); ``to_pandera`` turns them into a ``pandera.DataFrameSchema`` that is run lazily,
so one pass finds every failed expectation rather than the first. The ``validate_data`` step
passes the frame through when it is valid and otherwise fails with the report, which stops the
pipeline before any step that would train on bad data.

A ``DriftExpectation`` adds drift against a reference dataset version: the step resolves
``datasets:/name@digest`` through its client to the version's stored profile
(``Reference.from_profile``, no reload of the reference data) and scores the frame with the
monitoring drift tests (``detect_drift``). Every drifted column is one failed expectation with
its figures, and a share of drifted columns above the limit is one more, at table level.
``validate_frame(frame, expectations, reference=...)`` runs the same checks without a store.

A drift reference must name a fixed version (a digest, or a unique prefix of one): the
expectations are a step parameter, so their text is part of the step's cache key, and
``@latest`` would let the reference change under an unchanged key (a cached "passed" against
last week's data). It is refused with the way to pin it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from modelyard.domain.data import ColumnKind, DatasetRole
from modelyard.errors import InvalidInput
from modelyard.monitoring.drift import (
    DEFAULT_THRESHOLDS,
    DatasetDrift,
    DriftMethod,
    DriftStatus,
    DriftThresholds,
    FeatureDrift,
    Reference,
    detect_drift,
)
from modelyard.monitoring.drift.detect import CATEGORICAL_METHODS, NUMERIC_METHODS
from modelyard.pipelines.steps import StepContext, step
from modelyard.uris import parse_dataset_uri

if TYPE_CHECKING:
    from modelyard.sdk.client import Client

_DTYPES: dict[str, Any] = {"int": int, "float": float, "str": str, "bool": bool, "datetime": "datetime64[ns]"}


@dataclass(frozen=True, kw_only=True)
class ColumnExpectation:
    """What one column must satisfy. ``max_missing`` is the allowed fraction of missing values."""

    name: str
    dtype: str | None = None  # int, float, str, bool, datetime
    min: float | None = None
    max: float | None = None
    allowed: tuple[Any, ...] | None = None
    max_missing: float = 0.0
    unique: bool = False


_FAIL_ON = (DriftStatus.DRIFT.value, DriftStatus.MODERATE.value)


@dataclass(frozen=True, kw_only=True)
class DriftExpectation:
    """The frame must not drift from a reference dataset version.

    - ``reference``: ``datasets:/name@<digest or unique prefix>``; ``@latest`` is refused (see
      the module docstring: it would break the step cache).
    - ``columns``: the columns to test; each must be in the reference and in the frame. Default:
      every reference column the frame has (a reference often holds ids or the target too).
    - ``max_share_drifted``: a table-level failure when the share of drifted columns (among those
      with enough data) exceeds this; ``1.0`` turns it off.
    - ``fail_on``: the per-column statuses that fail: ``"drift"`` (default), and ``"moderate"``
      for PSI's middle band; ``()`` keeps the per-column figures in the report and fails on the
      share only.
    - ``thresholds``, ``numeric_method`` (ks, psi, wasserstein), ``categorical_method`` (chi2,
      js, psi): the drift tests' knobs, as for a monitor. Columns with fewer than
      ``thresholds.min_samples`` values get status ``insufficient_data``, which never fails.
    """

    reference: str
    columns: tuple[str, ...] | None = None
    max_share_drifted: float = 0.3
    fail_on: tuple[str, ...] = (DriftStatus.DRIFT.value,)
    thresholds: DriftThresholds = DEFAULT_THRESHOLDS
    numeric_method: str = DriftMethod.KS.value
    categorical_method: str = DriftMethod.CHI2.value

    def __post_init__(self) -> None:
        if isinstance(self.reference, str) and self.reference.endswith("@latest"):
            name = self.reference.removeprefix("datasets:/").removesuffix("@latest")
            raise InvalidInput(
                f"a drift reference must name a fixed version, not {self.reference!r}: the expectations are "
                f"part of the step's cache key, so @latest would reuse results computed against an older "
                f"version; pin it, e.g. client.backend.datasets.list_versions({name!r})[0].uri "
                f"(or see: modelyard datasets list {name})"
            )
        parse_dataset_uri(self.reference)
        if self.columns is not None:
            object.__setattr__(self, "columns", tuple(str(c) for c in self.columns))
            if not self.columns:
                raise InvalidInput("drift columns must name at least one column (or be None for all)")
        object.__setattr__(self, "fail_on", tuple(str(s) for s in self.fail_on))
        unknown = [s for s in self.fail_on if s not in _FAIL_ON]
        if unknown:
            raise InvalidInput(f"drift fail_on {unknown[0]!r} is not one of: {', '.join(_FAIL_ON)}")
        if not 0.0 <= self.max_share_drifted <= 1.0:
            raise InvalidInput("max_share_drifted must be in [0, 1]", max_share_drifted=self.max_share_drifted)
        _method(self.numeric_method, NUMERIC_METHODS, "numeric_method")
        _method(self.categorical_method, CATEGORICAL_METHODS, "categorical_method")


def _method(value: str, allowed: tuple[DriftMethod, ...], what: str) -> DriftMethod:
    names = [m.value for m in allowed]
    if value not in names:
        raise InvalidInput(f"drift {what} {value!r} is not one of: {', '.join(names)}")
    return DriftMethod(value)


@dataclass(frozen=True, kw_only=True)
class DataExpectations:
    """A declared schema: its columns, the row count range, whether other columns are allowed,
    and optionally no drift from a reference dataset version."""

    columns: tuple[ColumnExpectation, ...]
    min_rows: int = 1
    max_rows: int | None = None
    strict: bool = False
    drift: DriftExpectation | None = None


@dataclass(frozen=True, kw_only=True)
class FailedExpectation:
    """One expectation that did not hold: which column, which check, how often, and examples."""

    column: str | None
    check: str
    failures: int
    examples: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, kw_only=True)
class ValidationReport:
    """The verdict, every failed expectation, and (with a drift expectation) the drift figures of
    every tested column: ``drift`` is ``DatasetDrift.to_dict()`` plus the reference and limits."""

    passed: bool
    rows: int
    failed: tuple[FailedExpectation, ...] = field(default_factory=tuple)
    drift: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line per failed expectation, for error messages and logs."""
        lines = [f"{len(self.failed)} expectation(s) failed on {self.rows} rows:"]
        for f in self.failed:
            where = f"column {f.column!r}" if f.column else "table"
            examples = f" e.g. {', '.join(f.examples)}" if f.examples else ""
            lines.append(f"  - {where}: {f.check} ({f.failures} failing){examples}")
        return "\n".join(lines)


class DataValidationError(InvalidInput):
    """The data broke its declared expectations; ``report`` lists every failure."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.describe(), report=report.to_dict())
        self.report = report


def to_pandera(expectations: DataExpectations) -> pa.DataFrameSchema:
    """The pandera schema that checks ``expectations``."""
    columns: dict[str, pa.Column] = {}
    for c in expectations.columns:
        if c.dtype is not None and c.dtype not in _DTYPES:
            raise InvalidInput(f"column {c.name!r}: unknown dtype {c.dtype!r}; use one of {', '.join(_DTYPES)}")
        checks = []
        if c.min is not None:
            checks.append(pa.Check.ge(c.min, name=f"min >= {c.min:g}"))
        if c.max is not None:
            checks.append(pa.Check.le(c.max, name=f"max <= {c.max:g}"))
        if c.allowed is not None:
            checks.append(pa.Check.isin(list(c.allowed), name=f"allowed values {list(c.allowed)}"))
        limit = c.max_missing
        checks.append(
            pa.Check(
                lambda s, limit=limit: bool(s.isna().mean() <= limit),
                ignore_na=False,
                element_wise=False,
                name=f"missing rate <= {limit:g}",
            )
        )
        columns[c.name] = pa.Column(
            _DTYPES[c.dtype] if c.dtype else None, checks=checks, nullable=True, unique=c.unique, coerce=False
        )
    table_checks = [pa.Check(lambda df: len(df) >= expectations.min_rows, name=f"rows >= {expectations.min_rows}")]
    max_rows = expectations.max_rows
    if max_rows is not None:
        table_checks.append(pa.Check(lambda df: len(df) <= max_rows, name=f"rows <= {max_rows}"))
    return pa.DataFrameSchema(columns, checks=table_checks, strict=expectations.strict)


def validate_frame(
    frame: pd.DataFrame, expectations: DataExpectations, *, reference: Reference | None = None
) -> ValidationReport:
    """Check ``frame`` against ``expectations``; the report lists every failure, not just the first.

    With a drift expectation, ``reference`` is its resolved reference (``drift_reference``); the
    ``validate_data`` step resolves it through the store.
    """
    drift = expectations.drift
    if drift is not None and reference is None:
        raise InvalidInput(
            f"the expectations declare drift against {drift.reference}; pass its reference: "
            f"validate_frame(frame, expectations, reference=drift_reference(client, {drift.reference!r}))"
        )
    failed: tuple[FailedExpectation, ...] = ()
    try:
        to_pandera(expectations).validate(frame, lazy=True)
    except SchemaErrors as exc:
        failed = _failures(exc.failure_cases)
    except SchemaError as exc:  # pragma: no cover - lazy validation raises SchemaErrors
        failed = (FailedExpectation(column=None, check=str(exc), failures=1),)
    drift_figures: dict[str, Any] | None = None
    if drift is not None and reference is not None:
        drift_failed, drift_figures = check_drift(frame, drift, reference)
        failed = failed + drift_failed
    return ValidationReport(passed=not failed, rows=len(frame), failed=failed, drift=drift_figures)


def drift_reference(client: Client, uri: str) -> Reference:
    """The drift reference of the dataset version ``uri``, from its stored profile (no data reload).

    ``NotFound`` when no such dataset or version exists, ``InvalidInput`` for a malformed URI.
    """
    return Reference.from_profile(client.backend.datasets.resolve(uri).profile)


def check_drift(
    frame: pd.DataFrame, drift: DriftExpectation, reference: Reference
) -> tuple[tuple[FailedExpectation, ...], dict[str, Any]]:
    """The failed drift expectations of ``frame`` and the figures of every tested column.

    A column the frame has with values of another kind than the reference's (text where the
    reference has numbers) is a failure of its own and is not scored.
    """
    if drift.columns is None:
        wanted = list(reference.names)
        absent: list[str] = [n for n in wanted if n not in frame.columns]
    else:
        wanted = list(drift.columns)
        for name in wanted:
            reference.column(name)  # InvalidInput naming the reference's columns
        absent = []
    failed: list[FailedExpectation] = []
    names: list[str] = []
    for name in wanted:
        if name not in frame.columns:
            if drift.columns is not None:
                failed.append(FailedExpectation(column=name, check="drift: column absent from the frame", failures=1))
            continue
        mismatch = _kind_mismatch(reference, name, frame[name])
        if mismatch:
            failed.append(FailedExpectation(column=name, check=mismatch, failures=1))
        else:
            names.append(name)
    result = (
        detect_drift(
            reference,
            frame,
            thresholds=drift.thresholds,
            numeric_method=DriftMethod(drift.numeric_method),
            categorical_method=DriftMethod(drift.categorical_method),
            columns=names,
        )
        if names
        else None
    )
    if result is not None:
        failed.extend(_drift_failures(result, drift))
        if result.share_drifted > drift.max_share_drifted:
            failed.append(
                FailedExpectation(
                    column=None,
                    check=f"drift share of drifted columns {result.share_drifted:.2g} > {drift.max_share_drifted:g}",
                    failures=len(result.drifted_features),
                    examples=result.drifted_features,
                )
            )
    figures: dict[str, Any] = {
        "reference": drift.reference,
        "max_share_drifted": drift.max_share_drifted,
        "fail_on": list(drift.fail_on),
        "absent": absent,
        **(result if result is not None else _no_columns_tested(drift.thresholds)).to_dict(),
    }
    return tuple(failed), figures


def _no_columns_tested(thresholds: DriftThresholds) -> DatasetDrift:
    """The drift result when no column could be scored (all absent or of another kind)."""
    return DatasetDrift(
        features=(), missing=(), drifted_features=(), share_drifted=0.0, dataset_drifted=False, thresholds=thresholds
    )


def _kind_mismatch(reference: Reference, name: str, series: pd.Series) -> str | None:
    kind = reference.column(name).profile.kind
    if kind is ColumnKind.NUMERIC and not pd.api.types.is_numeric_dtype(series.dtype):
        return f"drift: numeric in the reference, {series.dtype} here"
    if kind is ColumnKind.DATETIME and not pd.api.types.is_datetime64_any_dtype(series.dtype):
        return f"drift: datetime in the reference, {series.dtype} here"
    return None


def _drift_failures(result: DatasetDrift, drift: DriftExpectation) -> list[FailedExpectation]:
    fail_on = set(drift.fail_on)
    out: list[FailedExpectation] = []
    for tested in (result.features, result.missing):
        for f in tested:
            if f.status.value in fail_on:
                out.append(
                    FailedExpectation(
                        column=f.feature, check=_drift_check(f, result.thresholds), failures=1, examples=_examples(f)
                    )
                )
    return sorted(out, key=lambda f: str(f.column))


def _drift_check(f: FeatureDrift, th: DriftThresholds) -> str:
    """The check's name with its figures, e.g. ``drift ks p=1.2e-09 < 0.05 (D=0.41)``."""
    d = f.details
    stat = _fig(f.statistic)
    if f.method is DriftMethod.MISSING_RATE:
        rates = f"{_fig(d.get('reference_rate'))} -> {_fig(d.get('current_rate'))}"
        return f"drift missing rate {rates}, p={_fig(d.get('p_value_adjusted'))} < {th.alpha:g}"
    if f.method is DriftMethod.KS:
        return f"drift ks p={_fig(d.get('p_value_adjusted'))} < {th.alpha:g} (D={stat}, psi={_fig(d.get('psi'))})"
    if f.method is DriftMethod.CHI2:
        return f"drift chi2 p={_fig(d.get('p_value_adjusted'))} < {th.alpha:g} (tvd={_fig(d.get('tvd'))})"
    if f.method is DriftMethod.PSI:
        if f.status is DriftStatus.MODERATE:
            return f"drift psi={stat} >= {th.psi_moderate:g} (moderate)"
        return f"drift psi={stat} > {th.psi_significant:g}"
    if f.method is DriftMethod.WASSERSTEIN:
        return f"drift wasserstein/std={stat} >= {f.threshold:g}"
    return f"drift {f.method.value}={stat} >= {f.threshold:g}"


def _examples(f: FeatureDrift) -> tuple[str, ...]:
    unseen = f.details.get("unseen_levels") or []
    return tuple(f"unseen level {level!r}" for level in unseen[:5])


def _fig(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    if math.isfinite(value) and value != 0 and abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.3g}"


def _failures(cases: pd.DataFrame) -> tuple[FailedExpectation, ...]:
    out = []
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=True):
        examples = tuple(str(v) for v in group["failure_case"].head(5).tolist())
        name = None if column is None or (isinstance(column, float) and pd.isna(column)) else str(column)
        if name == pa.DataFrameSchema.__name__ or name == "None":
            name = None
        out.append(FailedExpectation(column=name, check=str(check), failures=len(group), examples=examples))
    return tuple(out)


@step
def validate_data(frame: pd.DataFrame, expectations: DataExpectations, context: StepContext) -> pd.DataFrame:
    """Built-in step: the frame unchanged when it meets ``expectations``; otherwise the step fails with
    a report of every failed expectation (also stored as ``validation/report.json`` in its run)."""
    reference = None
    if expectations.drift is not None:
        reference = drift_reference(context.client, expectations.drift.reference)
        context.client.backend.datasets.add_input(expectations.drift.reference, context.run_id, DatasetRole.REFERENCE)
    report = validate_frame(frame, expectations, reference=reference)
    context.client.log_dict(context.run_id, report.to_dict(), "validation/report.json")
    metrics = {"failed_expectations": float(len(report.failed))}
    if report.drift is not None:
        metrics["share_drifted"] = float(report.drift["share_drifted"])
    context.client.log_metrics(context.run_id, metrics)
    if not report.passed:
        raise DataValidationError(report)
    return frame


def expectations_from_json(text: str | bytes) -> DataExpectations:
    """Expectations written as JSON (``{"columns": [{"name": ...}], "min_rows": ...}``), optionally
    with ``"drift": {"reference": "datasets:/name@digest", "thresholds": {"psi_significant": 0.2}}``.

    ``json.dumps(expectations_to_dict(e))`` reads back equal to ``e``."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise InvalidInput("expectations JSON must be an object with a 'columns' list")
    columns: Sequence[dict[str, Any]] = data.pop("columns", [])
    drift = data.pop("drift", None)
    try:
        return DataExpectations(
            columns=tuple(
                ColumnExpectation(**{**c, "allowed": tuple(c["allowed"]) if c.get("allowed") is not None else None})
                for c in columns
            ),
            drift=_drift_from_dict(drift) if drift is not None else None,
            **data,
        )
    except TypeError as exc:
        raise InvalidInput(f"expectations JSON: {exc}") from exc


def expectations_to_dict(expectations: DataExpectations) -> dict[str, Any]:
    """The JSON-ready form ``expectations_from_json`` reads (drift thresholds only where not default)."""
    data = asdict(expectations)
    if expectations.drift is not None:
        th = expectations.drift.thresholds
        changed = [f.name for f in fields(th) if getattr(th, f.name) != getattr(DEFAULT_THRESHOLDS, f.name)]
        data["drift"]["thresholds"] = {name: getattr(th, name) for name in changed}
    return data


def _drift_from_dict(data: dict[str, Any]) -> DriftExpectation:
    if not isinstance(data, dict) or "reference" not in data:
        raise InvalidInput('expectations JSON: "drift" must be an object with a "reference" (datasets:/name@digest)')
    given = dict(data)
    thresholds = given.pop("thresholds", None) or {}
    known = {f.name for f in fields(DriftThresholds)}
    unknown = sorted(set(thresholds) - known)
    if unknown:
        raise InvalidInput(f"drift threshold {unknown[0]!r} is not one of: {', '.join(sorted(known))}")
    for key in ("columns", "fail_on"):
        if given.get(key) is not None:
            given[key] = tuple(given[key])
    return DriftExpectation(thresholds=DriftThresholds(**thresholds), **given)
