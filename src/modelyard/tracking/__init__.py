"""Experiment tracking services: experiments, runs, metrics, artifacts and search.

The rules of tracking live here (params are immutable, a final status stays final, dead runs are
KILLED, a purge keeps what lineage needs); the SDK, CLI and server call these and only translate.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.tracking.artifacts import ArtifactService as ArtifactService
    from modelyard.tracking.experiments import DEFAULT_EXPERIMENT_NAME as DEFAULT_EXPERIMENT_NAME
    from modelyard.tracking.experiments import ExperimentService as ExperimentService
    from modelyard.tracking.metrics import MetricService as MetricService
    from modelyard.tracking.metrics import make_metric as make_metric
    from modelyard.tracking.purge import RunPurgeService as RunPurgeService
    from modelyard.tracking.retention import DownsampleReport as DownsampleReport
    from modelyard.tracking.retention import MetricRetentionService as MetricRetentionService
    from modelyard.tracking.runs import RunService as RunService
    from modelyard.tracking.search import RunSearchService as RunSearchService

__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface

__all__ = [
    "DEFAULT_EXPERIMENT_NAME",
    "ArtifactService",
    "DownsampleReport",
    "ExperimentService",
    "MetricRetentionService",
    "MetricService",
    "RunPurgeService",
    "RunSearchService",
    "RunService",
    "make_metric",
]
