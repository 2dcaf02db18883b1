"""Moving in from other tools: ``import_mlflow`` brings an MLflow store's experiments, runs,
models and registry into modelyard through the services, idempotently."""

from modelyard.migrate.mlflow_import import ImportSummary as ImportSummary
from modelyard.migrate.mlflow_import import MlflowImporter as MlflowImporter
from modelyard.migrate.mlflow_import import Progress as Progress
from modelyard.migrate.mlflow_import import import_mlflow as import_mlflow
from modelyard.migrate.mlflow_source import MlflowSource as MlflowSource

__all__ = ["ImportSummary", "MlflowImporter", "MlflowSource", "Progress", "import_mlflow"]
