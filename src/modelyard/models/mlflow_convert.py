"""Turning a model folder saved by MLflow into a modelyard model: which flavor, which files.

``plan_import`` reads what ``MLmodel`` says (``modelyard.models.mlflow_format`` parses it) and
returns an ``MlflowImport``: the modelyard flavor, a function that fills a model directory's
``model/`` folder, the signature (``modelyard.models.mlflow_signature``), the input example and
the requirements. The libraries modelyard supports get their own flavor:

- ``xgboost`` (JSON, UBJSON or legacy binary file) and ``lightgbm`` boosters (text file) are read
  by their library, which is data, not code, and written in modelyard's native format;
- ``onnx``: the ``.onnx`` file is copied;
- ``sklearn`` and LightGBM's scikit-learn wrappers saved with ``skops`` are read by skops,
  trusting only types of scikit-learn, LightGBM and XGBoost (skops builds them without running
  code from the file), and saved in their modelyard flavor; a file naming other types is refused;
- ``sklearn`` (and LightGBM wrappers) saved as ``pickle``/``cloudpickle`` are copied byte for byte
  into the ``sklearn`` flavor, which unpickles them when loaded.

Importing therefore never runs code from the folder; loading a pickled model does, under the same
trust rule as any modelyard model (a digest the store recorded, or ``trusted=True``). Any other
model with a ``python_function`` flavor is kept whole under the ``mlflow`` flavor and loaded by
mlflow itself.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.models import ModelSignature
from modelyard.errors import InvalidInput
from modelyard.models.examples import as_frame
from modelyard.models.flavors.base import Flavor, require_module
from modelyard.models.flavors.lightgbm import LightGBMFlavor
from modelyard.models.flavors.mlflow import MlflowFlavor
from modelyard.models.flavors.onnx import OnnxFlavor
from modelyard.models.flavors.registry import detect_flavor
from modelyard.models.flavors.sklearn import SklearnFlavor, adopt_pickle
from modelyard.models.flavors.xgboost import XGBoostFlavor
from modelyard.models.mlflow_signature import signature_from_mlflow
from modelyard.models.signature import enforce_signature

logger = logging.getLogger(__name__)

GENERIC_FLAVOR = "python_function"
CONVERTED_FLAVORS = ("sklearn", "xgboost", "lightgbm", "onnx")
_SKOPS_TRUSTED_PACKAGES = ("sklearn.", "lightgbm.", "xgboost.")
_SKOPS_TRUSTED_TYPES = frozenset({"collections.OrderedDict"})
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True, kw_only=True)
class MlflowImport:
    """How an MLflow model folder becomes a modelyard model directory."""

    flavor: Flavor
    write: Callable[[Path], None]
    """Fills the (empty) ``model/`` folder of the new directory."""
    signature: ModelSignature | None
    example: pd.DataFrame | None
    example_file: str | None
    """MLflow's example file when it is a DataFrame in ``split`` orientation (modelyard reads it)."""
    requirements: tuple[str, ...]
    """MLflow's ``requirements.txt`` lines for files kept as MLflow wrote them (a pickle may need any
    library; ``mlflow`` itself only when it loads the model); none for a converted model."""
    python_version: str


def plan_import(root: Path, mlmodel: Mapping[str, Any], *, keep_as_is: bool = False) -> MlflowImport:
    """How to import the MLflow model at ``root`` whose parsed ``MLmodel`` is ``mlmodel``.

    ``keep_as_is`` keeps it under the ``mlflow`` flavor even when its library has a modelyard
    flavor. ``InvalidInput`` for a folder modelyard cannot load: an unknown flavor without a
    ``python_function`` one, a missing data file, a skops file naming untrusted types.
    """
    flavors: Mapping[str, Any] = mlmodel["flavors"]
    where = f"the MLflow model at {str(root)!r}"
    flavor, write, kept = _flavor_and_writer(root, flavors, where, keep_as_is)
    signature = signature_from_mlflow(mlmodel.get("signature"), where=where)
    example, example_file = _example(root, mlmodel, signature, where)
    generic = flavors.get(GENERIC_FLAVOR)
    python = str(generic.get("python_version") or "") if isinstance(generic, Mapping) else ""
    return MlflowImport(
        flavor=flavor,
        write=write,
        signature=signature,
        example=example,
        example_file=example_file,
        requirements=_requirements(root, keep_mlflow=flavor.name == MlflowFlavor.name) if kept else (),
        python_version=python,
    )


_Conversion = tuple[Flavor, Callable[[Path], None], bool]
"""The modelyard flavor, what fills its folder, and whether MLflow's files are kept as written."""


def _flavor_and_writer(root: Path, flavors: Mapping[str, Any], where: str, keep_as_is: bool) -> _Conversion:
    if not keep_as_is:
        for name in CONVERTED_FLAVORS:
            conf = flavors.get(name)
            if isinstance(conf, Mapping):
                return _CONVERTERS[name](root, conf, where)
    if GENERIC_FLAVOR not in flavors:
        raise InvalidInput(
            f"{where} has the flavor(s) {sorted(flavors)} and no {GENERIC_FLAVOR} flavor: modelyard converts "
            f"{', '.join(CONVERTED_FLAVORS)} models and loads any other model through its {GENERIC_FLAVOR} flavor",
            flavors=sorted(flavors),
        )
    wrapper = MlflowFlavor()
    return wrapper, lambda folder: wrapper.save(root, folder), True


def _onnx(root: Path, conf: Mapping[str, Any], where: str) -> _Conversion:
    file = _data_file(root, conf, "data", where)
    flavor = OnnxFlavor()
    return flavor, lambda folder: flavor.save(file, folder), False


def _xgboost(root: Path, conf: Mapping[str, Any], where: str) -> _Conversion:
    file = _data_file(root, conf, "data", where)
    flavor = XGBoostFlavor()
    xgb = require_module("xgboost", extra=flavor.extra)
    class_name = str(conf.get("model_class") or "xgboost.core.Booster").rsplit(".", 1)[-1]
    cls = getattr(xgb, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, xgb.XGBModel | xgb.Booster)):
        raise InvalidInput(f"{where} names the XGBoost class {conf.get('model_class')!r}, which XGBoost does not have")
    model = cls()
    model.load_model(str(file))
    return flavor, lambda folder: flavor.save(model, folder), False


def _lightgbm(root: Path, conf: Mapping[str, Any], where: str) -> _Conversion:
    file = _data_file(root, conf, "data", where)
    model_class = str(conf.get("model_class") or "lightgbm.basic.Booster")
    if model_class.endswith(".Booster"):
        flavor = LightGBMFlavor()
        lgb = require_module("lightgbm", extra=flavor.extra)
        booster = lgb.Booster(model_file=str(file))
        return flavor, lambda folder: flavor.save(booster, folder), False
    return _estimator(file, str(conf.get("serialization_format") or "pickle"), where)


def _sklearn(root: Path, conf: Mapping[str, Any], where: str) -> _Conversion:
    file = _data_file(root, conf, "pickled_model", where)
    return _estimator(file, str(conf.get("serialization_format") or "pickle"), where)


def _estimator(file: Path, serialization: str, where: str) -> _Conversion:
    """A scikit-learn-style estimator: read from skops into its flavor, or its pickle kept as is."""
    if serialization == "skops":
        estimator = _load_skops(file, where)
        flavor = detect_flavor(estimator)
        return flavor, lambda folder: flavor.save(estimator, folder), False
    if serialization not in ("pickle", "cloudpickle"):
        raise InvalidInput(f"{where} uses the serialization format {serialization!r}, which modelyard does not read")
    return SklearnFlavor(), lambda folder: adopt_pickle(file, folder), True


_CONVERTERS: dict[str, Callable[[Path, Mapping[str, Any], str], _Conversion]] = {
    "sklearn": _sklearn,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "onnx": _onnx,
}


def _load_skops(file: Path, where: str) -> Any:
    """The estimator in a skops file, trusting only library types (no code from the file runs).

    MLflow records a trusted-types list in ``MLmodel``, but the model's author wrote that list;
    modelyard trusts by package instead, and refuses a file naming anything else.
    """
    skops_io = require_module("skops.io", extra=None)
    untrusted = [str(name) for name in skops_io.get_untrusted_types(file=str(file))]
    refused = [
        name for name in untrusted if not name.startswith(_SKOPS_TRUSTED_PACKAGES) and name not in _SKOPS_TRUSTED_TYPES
    ]
    if refused:
        raise InvalidInput(
            f"the skops file of {where} names types outside scikit-learn, LightGBM and XGBoost "
            f"({', '.join(refused)}); modelyard does not build them: load it with mlflow.sklearn.load_model "
            "if you trust it, and log the estimator",
            types=refused,
        )
    return skops_io.load(str(file), trusted=untrusted)


def _data_file(root: Path, conf: Mapping[str, Any], key: str, where: str) -> Path:
    relative = conf.get(key)
    if not isinstance(relative, str) or not relative:
        raise InvalidInput(f"{where}: its MLmodel flavor entry has no {key!r} naming the model file")
    file = (root / relative).resolve()
    if not file.is_relative_to(root.resolve()):
        raise InvalidInput(f"{where}: its MLmodel names {relative!r}, outside the model folder")
    if not file.is_file():
        raise InvalidInput(f"{where}: its MLmodel names the file {relative!r}, which is missing")
    return file


def _example(
    root: Path, mlmodel: Mapping[str, Any], signature: ModelSignature | None, where: str
) -> tuple[pd.DataFrame | None, str | None]:
    """MLflow's input example as a frame (and its file when modelyard can read it in place), or
    ``None`` when there is none, it is not a table, or it breaks the signature (logged)."""
    info = mlmodel.get("saved_input_example_info")
    if not isinstance(info, Mapping) or not isinstance(info.get("artifact_path"), str):
        return None, None
    file = (root / str(info["artifact_path"])).resolve()
    if not file.is_relative_to(root.resolve()) or not file.is_file():
        return None, None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        kind = info.get("type")
        if kind == "dataframe" and info.get("pandas_orient", "split") == "split":
            frame = as_frame(pd.DataFrame(data["data"], columns=data["columns"]))
        elif kind == "dataframe" and info.get("pandas_orient") == "records":
            frame = as_frame(pd.DataFrame.from_records(data))
        elif kind == "ndarray":
            array = np.asarray(data["inputs"] if isinstance(data, Mapping) else data)
            frame = as_frame(array.reshape(-1, 1) if array.ndim == 1 else array)
        else:
            return None, None
        if signature is not None:
            frame = enforce_signature(frame, signature)
    except (ValueError, KeyError, TypeError, InvalidInput) as exc:
        logger.warning("the input example of %s is left out: %s", where, exc)
        return None, None
    split = kind == "dataframe" and info.get("pandas_orient", "split") == "split"
    return frame, file.relative_to(root.resolve()).as_posix() if split else None


def _requirements(root: Path, *, keep_mlflow: bool) -> tuple[str, ...]:
    """The pip lines of MLflow's ``requirements.txt`` (no options, no comments); ``mlflow`` only
    when it loads the model."""
    file = root / "requirements.txt"
    if not file.is_file():
        return ()
    lines = []
    for raw in file.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        match = _REQUIREMENT_NAME.match(line)
        if not line or line.startswith("-") or match is None:
            continue
        if match.group(1).lower() == "mlflow" and not keep_mlflow:
            continue
        lines.append(line)
    return tuple(lines)
