"""Domain records: frozen, keyword-only dataclasses per bounded context, with no I/O.

Everything above the store speaks in these; SQLAlchemy rows never leave ``store/``.
"""

from modelyard.domain.tracking import Environment as Environment
from modelyard.domain.tracking import Experiment as Experiment
from modelyard.domain.tracking import FileInfo as FileInfo
from modelyard.domain.tracking import LifecycleStage as LifecycleStage
from modelyard.domain.tracking import Metric as Metric
from modelyard.domain.tracking import PagedList as PagedList
from modelyard.domain.tracking import Param as Param
from modelyard.domain.tracking import Run as Run
from modelyard.domain.tracking import RunData as RunData
from modelyard.domain.tracking import RunInfo as RunInfo
from modelyard.domain.tracking import RunStatus as RunStatus
from modelyard.domain.tracking import RunTag as RunTag
from modelyard.domain.tracking import SourceInfo as SourceInfo

__all__ = [
    "Environment",
    "Experiment",
    "FileInfo",
    "LifecycleStage",
    "Metric",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "SourceInfo",
]
