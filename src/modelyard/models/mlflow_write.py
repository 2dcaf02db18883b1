"""The ``MLmodel`` file modelyard writes beside ``modelyard.json``, so MLflow loads its models.

With it, ``mlflow.pyfunc.load_model(path)``, ``mlflow.<flavor>.load_model`` and ``mlflow models
serve`` open a modelyard model directory (or ``runs:/``/``models:/`` URIs served by modelyard's
MLflow-compatible API). Each modelyard flavor is described to MLflow by the files it already
wrote, nothing is stored twice:

- ``sklearn``: MLflow's ``sklearn`` flavor (a ``pickle``) and its ``mlflow.sklearn`` loader;
- ``xgboost``: the ``xgboost`` flavor (the native JSON file, the wrapper class) and its loader;
- ``lightgbm``: the ``lightgbm`` flavor (the booster's text file); ``mlflow.lightgbm`` loads a
  booster, whose ``predict`` gives a classifier's probabilities, so a classifier's
  ``python_function`` is modelyard's loader (``modelyard.models.mlflow_pyfunc``), which predicts
  labels as modelyard does;
- ``onnx``: the ``onnx`` flavor (``mlflow.onnx.load_model`` gives the ``ModelProto``), with
  modelyard's loader for ``python_function`` (MLflow's returns every output as a DataFrame);
- any other flavor: ``python_function`` through modelyard's loader.

The signature and input example are written in MLflow's format (``input_example.json``, a
DataFrame in ``split`` orientation: modelyard's own JSON example when it has one). The file is
written before the digest is computed, so the digest covers it like every other file; folders
saved without one still verify.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from modelyard.domain.models import ModelManifest
from modelyard.models.examples import JSON_NAME
from modelyard.models.flavors import lightgbm, onnx, sklearn, xgboost
from modelyard.models.flavors.base import installed_version, read_meta
from modelyard.models.flavors.mlflow import MLMODEL_FILE
from modelyard.models.mlflow_signature import signature_to_mlflow

PYFUNC_LOADER = "modelyard.models.mlflow_pyfunc"


def write_mlmodel(root: Path, manifest: ModelManifest, example: pd.DataFrame | None) -> None:
    """Write ``MLmodel`` (and MLflow's example file, if needed) into the model directory ``root``.

    ``manifest`` is the directory's manifest (its digest not yet computed); ``example`` the input
    example it was saved with.
    """
    folder = root / manifest.model_path
    specific, generic = _flavors(manifest, folder)
    generic["python_version"] = manifest.python_version
    flavors: dict[str, Any] = {"python_function": generic}
    if specific is not None:
        flavors[specific[0]] = specific[1]
    created = datetime.datetime.fromtimestamp(manifest.created_time / 1000, tz=datetime.UTC)
    content: dict[str, Any] = {
        "flavors": flavors,
        "utc_time_created": created.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "metadata": {"modelyard_flavor": manifest.flavor},
    }
    if manifest.signature is not None:
        content["signature"] = signature_to_mlflow(manifest.signature)
    if example is not None:
        content["saved_input_example_info"] = {
            "artifact_path": _example_file(root, manifest, example),
            "type": "dataframe",
            "pandas_orient": "split",
        }
    (root / MLMODEL_FILE).write_text(yaml.safe_dump(content, sort_keys=True), encoding="utf-8")


def _flavors(manifest: ModelManifest, folder: Path) -> tuple[tuple[str, dict[str, Any]] | None, dict[str, Any]]:
    """MLflow's entry for the library's flavor (``None`` when MLflow has none) and the
    ``python_function`` entry (without its Python version)."""
    path = manifest.model_path
    ours: dict[str, Any] = {"loader_module": PYFUNC_LOADER}
    entry: dict[str, Any]
    if manifest.flavor == "sklearn":
        file = f"{path}/{sklearn.MODEL_FILE}"
        entry = {
            "pickled_model": file,
            "serialization_format": "pickle",
            "sklearn_version": _version(manifest, "scikit-learn"),
            "code": None,
        }
        return ("sklearn", entry), {"loader_module": "mlflow.sklearn", "model_path": file, "predict_fn": "predict"}
    if manifest.flavor == "xgboost":
        file = f"{path}/{xgboost.MODEL_FILE}"
        entry = {
            "data": file,
            "model_class": f"xgboost.{read_meta(folder).get('class')}",
            "model_format": "json",
            "xgb_version": _version(manifest, "xgboost"),
            "code": None,
        }
        return ("xgboost", entry), {"loader_module": "mlflow.xgboost"}  # no data: it reads the flavor entry
    if manifest.flavor == "lightgbm":
        file = f"{path}/{lightgbm.MODEL_FILE}"
        entry = {"data": file, "model_class": "lightgbm.basic.Booster", "lgb_version": _version(manifest, "lightgbm")}
        entry["code"] = None
        classifier = read_meta(folder).get("kind") == "classifier"
        return ("lightgbm", entry), ours if classifier else {"loader_module": "mlflow.lightgbm"}
    if manifest.flavor == "onnx":
        entry = {
            "data": f"{path}/{onnx.MODEL_FILE}",
            "onnx_version": installed_version("onnx"),
            "providers": ["CPUExecutionProvider"],
            "onnx_session_options": None,
            "code": None,
        }
        return ("onnx", entry), ours
    return None, ours


def _version(manifest: ModelManifest, distribution: str) -> str | None:
    return manifest.library_versions.get(distribution) or installed_version(distribution)


def _example_file(root: Path, manifest: ModelManifest, example: pd.DataFrame) -> str:
    """modelyard's JSON example (the same ``split`` layout), or the example written as one."""
    if manifest.input_example_path != JSON_NAME:
        example.to_json(root / JSON_NAME, orient="split", index=False, date_format="iso")
    return JSON_NAME
