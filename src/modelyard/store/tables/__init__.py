"""Table definitions, one module per bounded context, sharing one ``MetaData``."""

from modelyard.store.tables.base import metadata as metadata
from modelyard.store.tables.data import dataset_versions as dataset_versions
from modelyard.store.tables.data import datasets as datasets
from modelyard.store.tables.data import run_inputs as run_inputs
from modelyard.store.tables.features import feature_definitions, feature_watermarks  # noqa: F401
from modelyard.store.tables.governance import (  # noqa: F401
    api_tokens,
    approval_decisions,
    approval_policies,
    approval_requests,
    audit_events,
    model_card_fields,
    role_bindings,
    users,
)
from modelyard.store.tables.imports import import_mappings  # noqa: F401
from modelyard.store.tables.inference import feedback, inference_segments  # noqa: F401
from modelyard.store.tables.lineage import lineage_edges as lineage_edges
from modelyard.store.tables.model_uploads import logged_model_tags, logged_model_uploads  # noqa: F401
from modelyard.store.tables.monitoring import alert_rules, alerts, monitor_results, monitors  # noqa: F401
from modelyard.store.tables.pipelines import pipeline_cache_entries, pipeline_runs, pipeline_step_runs  # noqa: F401
from modelyard.store.tables.registry import logged_models as logged_models
from modelyard.store.tables.registry import model_aliases as model_aliases
from modelyard.store.tables.registry import model_version_tags as model_version_tags
from modelyard.store.tables.registry import model_versions as model_versions
from modelyard.store.tables.registry import registered_model_tags as registered_model_tags
from modelyard.store.tables.registry import registered_models as registered_models
from modelyard.store.tables.schedules import pipeline_schedules  # noqa: F401
from modelyard.store.tables.serving import deployment_events, deployment_variants, deployments  # noqa: F401
from modelyard.store.tables.tracking import environments as environments
from modelyard.store.tables.tracking import experiment_tags as experiment_tags
from modelyard.store.tables.tracking import experiments as experiments
from modelyard.store.tables.tracking import latest_metrics as latest_metrics
from modelyard.store.tables.tracking import metrics as metrics
from modelyard.store.tables.tracking import params as params
from modelyard.store.tables.tracking import runs as runs
from modelyard.store.tables.tracking import tags as tags

__all__ = [
    "dataset_versions",
    "datasets",
    "environments",
    "experiment_tags",
    "experiments",
    "latest_metrics",
    "lineage_edges",
    "logged_models",
    "metadata",
    "metrics",
    "model_aliases",
    "model_version_tags",
    "model_versions",
    "params",
    "registered_model_tags",
    "registered_models",
    "run_inputs",
    "runs",
    "tags",
]
