"""Bodies of datasets, their versions, run inputs and diffs."""

from __future__ import annotations

from pydantic import Field

from modelyard.data.diff import DatasetDiff
from modelyard.domain.data import Dataset, DatasetRole, DatasetVersion, RunInput
from modelyard.server.schemas._derive import Schema, schema_for

DatasetOut = schema_for(Dataset)
DatasetVersionOut = schema_for(DatasetVersion)
RunInputOut = schema_for(RunInput)
DatasetDiffOut = schema_for(DatasetDiff)


class RunInputIn(Schema):
    uri: str = Field(min_length=1, max_length=1000)
    role: DatasetRole = DatasetRole.TRAIN
    label: str | None = Field(default=None, max_length=256)
