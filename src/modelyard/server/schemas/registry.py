"""Request bodies of registered models, versions, aliases, stages and logged models."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from modelyard.domain.registry import LoggedModel, ModelVersion, RegisteredModel
from modelyard.server.schemas._derive import Count, Schema, schema_for

RegisteredModelOut = schema_for(RegisteredModel)
ModelVersionOut = schema_for(ModelVersion)
LoggedModelOut = schema_for(LoggedModel)


class RegisteredModelCreate(Schema):
    name: str = Field(min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=100_000)
    tags: dict[str, Any] = Field(default_factory=dict, max_length=1000)


class DescriptionIn(Schema):
    description: str = Field(max_length=100_000)


class TagIn(Schema):
    value: Any = None


class ModelVersionCreate(Schema):
    name: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=2000)
    description: str | None = Field(default=None, max_length=100_000)
    tags: dict[str, Any] = Field(default_factory=dict, max_length=1000)
    create_model: bool = False


class AliasIn(Schema):
    version: Count
    reason: str = Field(default="", max_length=10_000)


class StageIn(Schema):
    stage: str = Field(min_length=1, max_length=32)
    archive_existing_versions: bool = False
    reason: str = Field(default="", max_length=10_000)


class LoggedModelRecord(Schema):
    name: str = Field(min_length=1, max_length=500, description="The model's folder among the run's artifacts")


class ResolvedModelOut(Schema):
    """Where the files of the model a URI names are, for a client to download and load."""

    uri: str
    run_id: str | None
    artifact_path: str
    digest: str | None
    logged_model: LoggedModelOut | None = None  # type: ignore[valid-type]
    version: ModelVersionOut | None = None  # type: ignore[valid-type]
