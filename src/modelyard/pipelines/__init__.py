"""Pipelines: plain-Python ``@step``/``@pipeline`` DAGs with tracked, cached, resumable runs.

An orchestration layer above the SDK: a pipeline run is a tracking run with one child run per
step, step outputs are stored by materializers (datasets, logged models, arrays, JSON), and the
built-in steps validate data, evaluate models and gate them against the ``@champion``.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.domain.pipelines import ArtifactRef as ArtifactRef
    from modelyard.domain.pipelines import PipelineRun as PipelineRun
    from modelyard.domain.pipelines import PipelineStatus as PipelineStatus
    from modelyard.domain.pipelines import StepRun as StepRun
    from modelyard.domain.pipelines import StepStatus as StepStatus
    from modelyard.pipelines.definition import Pipeline as Pipeline
    from modelyard.pipelines.definition import load_pipeline as load_pipeline
    from modelyard.pipelines.definition import pipeline as pipeline
    from modelyard.pipelines.deploy import deploy_canary as deploy_canary
    from modelyard.pipelines.records import get_pipeline_run as get_pipeline_run
    from modelyard.pipelines.records import list_pipeline_runs as list_pipeline_runs
    from modelyard.pipelines.records import list_step_runs as list_step_runs
    from modelyard.pipelines.resume import resume_pipeline as resume_pipeline
    from modelyard.pipelines.runner import PipelineResult as PipelineResult
    from modelyard.pipelines.runner import run_pipeline as run_pipeline
    from modelyard.pipelines.signatures import ModelOutput as ModelOutput
    from modelyard.pipelines.steps import Step as Step
    from modelyard.pipelines.steps import StepContext as StepContext
    from modelyard.pipelines.steps import StepOutput as StepOutput
    from modelyard.pipelines.steps import step as step

__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface

__all__ = [
    "ArtifactRef",
    "ModelOutput",
    "Pipeline",
    "PipelineResult",
    "PipelineRun",
    "PipelineStatus",
    "Step",
    "StepContext",
    "StepOutput",
    "StepRun",
    "StepStatus",
    "deploy_canary",
    "get_pipeline_run",
    "list_pipeline_runs",
    "list_step_runs",
    "load_pipeline",
    "pipeline",
    "resume_pipeline",
    "run_pipeline",
    "step",
]
