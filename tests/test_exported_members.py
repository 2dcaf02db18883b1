"""The public surface, pinned (as httpx's tests/test_exported_members.py does): what ``import
modelyard as my`` offers, each context's entrance, and that the examples use nothing else.

Adding a public name means adding it here, on purpose; everything not listed can move freely.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import modelyard

TOP_LEVEL = {
    "ActiveRun", "Client", "DatasetRole", "DatasetVersion", "Experiment", "Metric", "Param", "Run", "RunStatus",
    "RunTag", "Settings", "ViewType", "__version__", "active_run", "client", "configure", "create_experiment",
    "delete_tag", "deployments", "download_artifacts", "end_run", "explain", "feature_store", "flush",
    "get_dataset_version",
    "get_experiment_by_name", "get_run", "get_run_inputs", "get_tracking_uri", "last_active_run", "lineage",
    "list_artifacts", "list_dataset_versions", "list_datasets", "load_dataset", "load_model", "log_artifact",
    "log_artifacts", "log_dataset", "log_dict", "log_feedback", "log_feedback_batch", "log_figure", "log_metric",
    "log_metrics", "log_model", "log_param", "log_params", "log_text", "register_model", "search_runs",
    "set_experiment", "set_tag", "set_tags", "set_tracking_uri", "start_run",
}  # fmt: skip

ENTRANCES = {
    "modelyard.sdk.deployments": {
        "BatchingSpec", "CanarySLO", "ChampionMove", "Deployment", "DeploymentEvent", "EventDetails", "StickySpec",
        "VariantMode", "VariantSpec", "deploy", "get", "history", "list", "promote", "rollback", "serve",
        "set_explain_sample", "set_traffic", "undeploy",
    },
    "modelyard.sdk.lineage": {
        "DEFAULT_MAX_DEPTH", "LineageGraph", "NodeKind", "NodeRef", "graph", "lineage_tree", "openlineage", "tree",
    },
}  # fmt: skip

# Public packages whose __init__ states their API; listed so a name dropped from one is noticed.
PACKAGES = ("modelyard.pipelines", "modelyard.governance", "modelyard.monitoring", "modelyard.registry")


def test_top_level_names() -> None:
    assert set(modelyard.__all__) == TOP_LEVEL
    for name in modelyard.__all__:
        assert getattr(modelyard, name) is not None, name


def test_context_entrances() -> None:
    assert modelyard.deployments is importlib.import_module("modelyard.sdk.deployments")
    assert modelyard.lineage is importlib.import_module("modelyard.sdk.lineage")
    for module_name, names in ENTRANCES.items():
        module = importlib.import_module(module_name)
        assert set(module.__all__) == names, module_name
        for name in names:
            assert hasattr(module, name), (module_name, name)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_all_names_resolve(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert hasattr(module, name), (package, name)
        assert not name.startswith("_") or name == "__version__"


def test_examples_use_no_cli_internals() -> None:
    for path in (Path(__file__).resolve().parents[1] / "examples").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.startswith("modelyard.cli")], path.name
