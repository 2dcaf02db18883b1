"""Logged models on local disk: the model directory format, flavors, signatures and the predictor.

``save_model`` writes any supported model (scikit-learn, XGBoost, LightGBM, ONNX, or anything with
``predict(DataFrame)``, or a folder MLflow saved) as a self-describing, digest-checked directory
that MLflow's loaders open too; ``load_model_dir`` reads it (or an MLflow folder) back as a
``Predictor`` that enforces the model's signature before every call. Storing these
directories in runs and the registry is the job of the services above this package.

The names load on first use (``modelyard._lazy``): most of them need pandas, which a command that
only lists models must not pay for.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.domain.models import ColumnSpec as ColumnSpec
    from modelyard.domain.models import DataType as DataType
    from modelyard.domain.models import ModelManifest as ModelManifest
    from modelyard.domain.models import ModelSignature as ModelSignature
    from modelyard.domain.models import TensorSpec as TensorSpec
    from modelyard.models.digest import directory_digest as directory_digest
    from modelyard.models.examples import InputExample as InputExample
    from modelyard.models.flavors import Flavor as Flavor
    from modelyard.models.flavors import LoadedModel as LoadedModel
    from modelyard.models.flavors import detect_flavor as detect_flavor
    from modelyard.models.flavors import get_flavor as get_flavor
    from modelyard.models.format import MANIFEST_NAME as MANIFEST_NAME
    from modelyard.models.format import folder_digest as folder_digest
    from modelyard.models.format import folder_requirements as folder_requirements
    from modelyard.models.format import load_input_example as load_input_example
    from modelyard.models.format import load_model_dir as load_model_dir
    from modelyard.models.format import manifest_digest as manifest_digest
    from modelyard.models.format import read_manifest as read_manifest
    from modelyard.models.format import save_model as save_model
    from modelyard.models.mlflow_format import MLMODEL_FILE as MLMODEL_FILE
    from modelyard.models.mlflow_format import mlflow_flavor as mlflow_flavor
    from modelyard.models.predictor import Predictor as Predictor
    from modelyard.models.signature import enforce_signature as enforce_signature
    from modelyard.models.signature import infer_signature as infer_signature

__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface

__all__ = [
    "MANIFEST_NAME",
    "MLMODEL_FILE",
    "ColumnSpec",
    "DataType",
    "Flavor",
    "InputExample",
    "LoadedModel",
    "ModelManifest",
    "ModelSignature",
    "Predictor",
    "TensorSpec",
    "detect_flavor",
    "directory_digest",
    "enforce_signature",
    "folder_digest",
    "folder_requirements",
    "get_flavor",
    "infer_signature",
    "load_input_example",
    "load_model_dir",
    "manifest_digest",
    "mlflow_flavor",
    "read_manifest",
    "save_model",
]
