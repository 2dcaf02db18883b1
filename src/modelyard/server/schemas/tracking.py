"""Request bodies of experiments, runs, params, tags and metrics."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from modelyard.domain.search import ViewType
from modelyard.domain.tracking import Environment, Experiment, Metric, PurgeReport, Run, RunStatus, SourceInfo
from modelyard.server.schemas._derive import INT64_MAX, Int64, JsonFloat, Schema, schema_for

KEY = Field(min_length=1, max_length=250)

ExperimentOut = schema_for(Experiment)
RunOut = schema_for(Run)
MetricOut = schema_for(Metric)
SourceIn = schema_for(SourceInfo)
EnvironmentIn = schema_for(Environment)
PurgeOut = schema_for(PurgeReport)


class ExperimentCreate(Schema):
    name: str = Field(min_length=1, max_length=500)
    tags: dict[str, str] = Field(default_factory=dict)
    artifact_location: str | None = None


class ExperimentName(Schema):
    name: str = Field(min_length=1, max_length=500)


class ExperimentId(Schema):
    experiment_id: str


class TagValue(Schema):
    value: str = Field(max_length=8000)


class RunCreate(Schema):
    experiment_id: str = Field(min_length=1, max_length=64)
    run_name: str | None = Field(default=None, max_length=250)
    tags: dict[str, str] = Field(default_factory=dict)
    parent_run_id: str | None = Field(default=None, max_length=64)
    source: SourceIn | None = None  # type: ignore[valid-type]
    environment: EnvironmentIn | None = None  # type: ignore[valid-type]
    start_time: int | None = Field(default=None, ge=0, le=INT64_MAX)


class MetricIn(Schema):
    key: str = KEY
    value: JsonFloat
    timestamp: int = Field(ge=0, le=INT64_MAX)
    step: Int64 = 0

    def to_domain(self) -> Metric:
        return Metric(key=self.key, value=float(self.value), timestamp=self.timestamp, step=self.step)


class RunEnd(Schema):
    status: RunStatus = RunStatus.FINISHED
    end_time: int | None = Field(default=None, ge=0, le=INT64_MAX)
    metrics: list[MetricIn] = Field(default_factory=list, max_length=100_000)


class RunRename(Schema):
    name: str = Field(min_length=1, max_length=250)


class ParamsIn(Schema):
    params: dict[str, Any] = Field(max_length=10_000)


class TagsIn(Schema):
    tags: dict[str, Any] = Field(max_length=10_000)


class MetricsIn(Schema):
    metrics: list[MetricIn] = Field(max_length=100_000)


class BatchIn(Schema):
    metrics: list[MetricIn] = Field(default_factory=list, max_length=100_000)
    params: dict[str, Any] = Field(default_factory=dict, max_length=10_000)
    tags: dict[str, Any] = Field(default_factory=dict, max_length=10_000)


class RunIds(Schema):
    run_ids: list[str] = Field(max_length=10_000)


class GcIn(Schema):
    timeout_s: float = Field(gt=0, le=10 * 365 * 86_400)


class PurgeIn(Schema):
    """Which deleted runs to purge: deleted over ``deleted_older_than_ms`` ago (any age when
    absent), only ``run_ids`` / runs of ``experiment_ids`` when given."""

    deleted_older_than_ms: int | None = Field(default=None, ge=0, le=INT64_MAX)
    run_ids: list[str] | None = Field(default=None, max_length=10_000)
    experiment_ids: list[str] | None = Field(default=None, max_length=1000)
    dry_run: bool = False


class SearchIn(Schema):
    experiment_ids: list[str] = Field(max_length=1000)
    filter: str | None = Field(default=None, max_length=10_000)
    order_by: list[str] | None = Field(default=None, max_length=50)
    max_results: int = Field(default=1000, ge=1, le=50_000)
    page_token: str | None = Field(default=None, max_length=1000)
    view: ViewType = ViewType.ACTIVE_ONLY


class RunPage(Schema):
    items: list[RunOut]  # type: ignore[valid-type]
    next_page_token: str | None = None


class MetricPage(Schema):
    items: list[MetricOut]  # type: ignore[valid-type]
    next_page_token: str | None = None


class RunIdsOut(Schema):
    run_ids: list[str]


class RunIdOut(Schema):
    run_id: str


class ArtifactPath(Schema):
    path: str
