"""Data validation: declared expectations checked with pandera, every failure reported.

Expectations are plain frozen dataclasses (so they hash into a step's cache key and read well in
a pipeline file); ``to_pandera`` turns them into a ``pandera.DataFrameSchema`` that is run lazily,
so one pass finds every failed expectation rather than the first. The ``validate_data`` step
passes the frame through when it is valid and otherwise fails with the report, which stops the
pipeline before any step that would train on bad data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from modelyard.errors import InvalidInput
from modelyard.pipelines.steps import StepContext, step

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


@dataclass(frozen=True, kw_only=True)
class DataExpectations:
    """A declared schema: its columns, the row count range, and whether other columns are allowed."""

    columns: tuple[ColumnExpectation, ...]
    min_rows: int = 1
    max_rows: int | None = None
    strict: bool = False


@dataclass(frozen=True, kw_only=True)
class FailedExpectation:
    """One expectation that did not hold: which column, which check, how often, and examples."""

    column: str | None
    check: str
    failures: int
    examples: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, kw_only=True)
class ValidationReport:
    passed: bool
    rows: int
    failed: tuple[FailedExpectation, ...] = field(default_factory=tuple)

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


def validate_frame(frame: pd.DataFrame, expectations: DataExpectations) -> ValidationReport:
    """Check ``frame`` against ``expectations``; the report lists every failure, not just the first."""
    try:
        to_pandera(expectations).validate(frame, lazy=True)
    except SchemaErrors as exc:
        return ValidationReport(passed=False, rows=len(frame), failed=_failures(exc.failure_cases))
    except SchemaError as exc:  # pragma: no cover - lazy validation raises SchemaErrors
        return ValidationReport(
            passed=False, rows=len(frame), failed=(FailedExpectation(column=None, check=str(exc), failures=1),)
        )
    return ValidationReport(passed=True, rows=len(frame))


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
    report = validate_frame(frame, expectations)
    context.client.log_dict(context.run_id, report.to_dict(), "validation/report.json")
    context.client.log_metrics(context.run_id, {"failed_expectations": float(len(report.failed))})
    if not report.passed:
        raise DataValidationError(report)
    return frame


def expectations_from_json(text: str | bytes) -> DataExpectations:
    """Expectations written as JSON (``{"columns": [{"name": ...}], "min_rows": ...}``)."""
    data = json.loads(text)
    columns: Sequence[dict[str, Any]] = data.pop("columns", [])
    return DataExpectations(
        columns=tuple(
            ColumnExpectation(**{**c, "allowed": tuple(c["allowed"]) if c.get("allowed") is not None else None})
            for c in columns
        ),
        **data,
    )
