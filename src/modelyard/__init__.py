"""modelyard: track, version, register, automate, deploy, monitor and govern ML models.

The names here are the fluent SDK, spelled as MLflow spells them so moving over is a rename::

    import modelyard as my

    with my.start_run(experiment="churn"):
        my.log_param("model", "rf")
        my.log_metric("auc", 0.91)

Each name is imported on first use (PEP 562), so ``import modelyard`` and the ``modelyard`` CLI
start without loading every context of the platform; type checkers see ordinary imports.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.config import Settings as Settings
    from modelyard.domain.data import DatasetRole as DatasetRole
    from modelyard.domain.data import DatasetVersion as DatasetVersion
    from modelyard.domain.search import ViewType as ViewType
    from modelyard.domain.tracking import Experiment as Experiment
    from modelyard.domain.tracking import Metric as Metric
    from modelyard.domain.tracking import Param as Param
    from modelyard.domain.tracking import Run as Run
    from modelyard.domain.tracking import RunStatus as RunStatus
    from modelyard.domain.tracking import RunTag as RunTag
    from modelyard.sdk import deployments as deployments
    from modelyard.sdk import lineage as lineage
    from modelyard.sdk.client import Client as Client
    from modelyard.sdk.datasets import get_dataset_version as get_dataset_version
    from modelyard.sdk.datasets import get_run_inputs as get_run_inputs
    from modelyard.sdk.datasets import list_dataset_versions as list_dataset_versions
    from modelyard.sdk.datasets import list_datasets as list_datasets
    from modelyard.sdk.datasets import load_dataset as load_dataset
    from modelyard.sdk.datasets import log_dataset as log_dataset
    from modelyard.sdk.explain import explain as explain
    from modelyard.sdk.features import feature_store as feature_store
    from modelyard.sdk.feedback import log_feedback as log_feedback
    from modelyard.sdk.feedback import log_feedback_batch as log_feedback_batch
    from modelyard.sdk.fluent import ActiveRun as ActiveRun
    from modelyard.sdk.fluent import active_run as active_run
    from modelyard.sdk.fluent import client as client
    from modelyard.sdk.fluent import configure as configure
    from modelyard.sdk.fluent import create_experiment as create_experiment
    from modelyard.sdk.fluent import delete_tag as delete_tag
    from modelyard.sdk.fluent import download_artifacts as download_artifacts
    from modelyard.sdk.fluent import end_run as end_run
    from modelyard.sdk.fluent import flush as flush
    from modelyard.sdk.fluent import get_experiment_by_name as get_experiment_by_name
    from modelyard.sdk.fluent import get_run as get_run
    from modelyard.sdk.fluent import get_tracking_uri as get_tracking_uri
    from modelyard.sdk.fluent import last_active_run as last_active_run
    from modelyard.sdk.fluent import list_artifacts as list_artifacts
    from modelyard.sdk.fluent import log_artifact as log_artifact
    from modelyard.sdk.fluent import log_artifacts as log_artifacts
    from modelyard.sdk.fluent import log_dict as log_dict
    from modelyard.sdk.fluent import log_figure as log_figure
    from modelyard.sdk.fluent import log_metric as log_metric
    from modelyard.sdk.fluent import log_metrics as log_metrics
    from modelyard.sdk.fluent import log_param as log_param
    from modelyard.sdk.fluent import log_params as log_params
    from modelyard.sdk.fluent import log_text as log_text
    from modelyard.sdk.fluent import search_runs as search_runs
    from modelyard.sdk.fluent import set_experiment as set_experiment
    from modelyard.sdk.fluent import set_tag as set_tag
    from modelyard.sdk.fluent import set_tags as set_tags
    from modelyard.sdk.fluent import set_tracking_uri as set_tracking_uri
    from modelyard.sdk.fluent import start_run as start_run
    from modelyard.sdk.models import load_model as load_model
    from modelyard.sdk.models import log_model as log_model
    from modelyard.sdk.models import register_model as register_model

__version__ = "0.1.0"

__getattr__ = lazy_exports(__name__, __file__)


class _Package(types.ModuleType):
    """This package's module type: the fluent ``explain`` keeps its name beside the ``explain`` context.

    Importing ``modelyard.explain.<module>`` would set the attribute ``explain`` of this package to
    the subpackage, hiding ``my.explain(model_uri, data)``; the import system's setattr is ignored
    for that one name, so ``my.explain`` stays the function, while ``from modelyard.explain import
    ...`` (which reads ``sys.modules``) still reaches the context.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "explain" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ActiveRun",
    "Client",
    "DatasetRole",
    "DatasetVersion",
    "Experiment",
    "Metric",
    "Param",
    "Run",
    "RunStatus",
    "RunTag",
    "Settings",
    "ViewType",
    "__version__",
    "active_run",
    "client",
    "configure",
    "create_experiment",
    "delete_tag",
    "deployments",
    "download_artifacts",
    "end_run",
    "explain",
    "feature_store",
    "flush",
    "get_dataset_version",
    "get_experiment_by_name",
    "get_run",
    "get_run_inputs",
    "get_tracking_uri",
    "last_active_run",
    "lineage",
    "list_artifacts",
    "list_dataset_versions",
    "list_datasets",
    "load_dataset",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_dataset",
    "log_dict",
    "log_feedback",
    "log_feedback_batch",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
