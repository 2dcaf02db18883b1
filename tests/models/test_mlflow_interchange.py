"""Issue 15.3: models cross between MLflow and modelyard both ways, checked with the real mlflow.

MLflow saves → modelyard loads (``load_model_dir``) and imports (``save_model``) with the flavor
of its library, predicting as MLflow's own loader does, with the signature and example kept.
modelyard saves → ``mlflow.pyfunc.load_model`` and ``mlflow.<flavor>.load_model`` load it and
predict as modelyard does, and read the signature and example from the ``MLmodel`` file.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import onnx
import pandas as pd
import pytest
import skops.io
import xgboost as xgb
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

with warnings.catch_warnings():  # mlflow warns about its own type hints while importing
    warnings.simplefilter("ignore")
    import mlflow
    import mlflow.lightgbm
    import mlflow.models
    import mlflow.onnx
    import mlflow.pyfunc
    import mlflow.sklearn
    import mlflow.xgboost

from modelyard.domain.models import ColumnSpec, DataType, TensorSpec
from modelyard.errors import Conflict, InvalidInput
from modelyard.models import (
    MLMODEL_FILE,
    directory_digest,
    folder_requirements,
    load_input_example,
    load_model_dir,
    read_manifest,
    save_model,
)
from tests._mlflow import MLFLOW_MARKS

# mlflow's own warnings while saving (type-hint inference, pandas deprecations inside mlflow).
pytestmark = MLFLOW_MARKS

_PIP = ["scikit-learn"]  # given, so mlflow does not infer requirements in a subprocess


class Doubler(mlflow.pyfunc.PythonModel):
    """A python_function model, the kind modelyard keeps under its ``mlflow`` flavor."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.Series:
        return model_input["a"] * 2


class Threshold:
    """A modelyard pyfunc model (anything with ``predict(DataFrame)``)."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return (df["a"] > 0).astype("int64").to_numpy()


def _double(values: np.ndarray) -> np.ndarray:
    return values * 2


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50), "n": rng.integers(0, 5, size=50)})
    return x, (x["a"] + x["b"] > 0).astype(int).to_numpy()


_FRAME_INPUTS = (
    ColumnSpec(name="a", dtype=DataType.FLOAT64),
    ColumnSpec(name="b", dtype=DataType.FLOAT64),
    ColumnSpec(name="n", dtype=DataType.INT64),
)
_TENSOR_INPUTS = tuple(ColumnSpec(name=str(i), dtype=DataType.FLOAT32) for i in range(3))


def _as_tensor_frame(x: pd.DataFrame) -> pd.DataFrame:
    """The frame an array-fed model takes: columns "0", "1", ... of float32."""
    return pd.DataFrame(x.to_numpy(dtype=np.float32), columns=["0", "1", "2"])


def _save_sklearn(fmt: str) -> Callable[[Path, pd.DataFrame, np.ndarray], None]:
    def save(path: Path, x: pd.DataFrame, y: np.ndarray) -> None:
        model = LogisticRegression().fit(x, y)
        mlflow.sklearn.save_model(model, path, input_example=x.head(3), serialization_format=fmt, pip_requirements=_PIP)

    return save


def _save_xgboost(path: Path, x: pd.DataFrame, y: np.ndarray) -> None:
    model = xgb.XGBClassifier(n_estimators=4, max_depth=2, n_jobs=1).fit(x, y)
    mlflow.xgboost.save_model(model, path, input_example=x.head(3), pip_requirements=["xgboost"])


def _save_xgboost_booster(path: Path, x: pd.DataFrame, y: np.ndarray) -> None:
    booster = xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(x, y), 3)
    mlflow.xgboost.save_model(booster, path, input_example=x.head(3), pip_requirements=["xgboost"])


def _save_lightgbm(path: Path, x: pd.DataFrame, y: np.ndarray) -> None:
    model = lgb.LGBMClassifier(n_estimators=4, n_jobs=1, verbose=-1).fit(x, y)
    mlflow.lightgbm.save_model(model, path, input_example=x.head(3), pip_requirements=["lightgbm"])


def _save_lightgbm_booster(path: Path, x: pd.DataFrame, y: np.ndarray) -> None:
    booster = lgb.train({"verbose": -1, "num_threads": 1}, lgb.Dataset(x, y), 3)
    mlflow.lightgbm.save_model(booster, path, input_example=x.head(3), pip_requirements=["lightgbm"])


def _save_onnx(path: Path, x: pd.DataFrame, y: np.ndarray) -> None:
    features = x.to_numpy(dtype=np.float32)
    proto = to_onnx(LogisticRegression().fit(features, y), features[:1])
    signature = mlflow.models.infer_signature(features, y.astype(np.int64))
    mlflow.onnx.save_model(proto, path, signature=signature, input_example=features[:3], pip_requirements=["onnx"])


def _save_python_function(path: Path, x: pd.DataFrame, y: np.ndarray) -> None:
    mlflow.pyfunc.save_model(path, python_model=Doubler(), input_example=x.head(3), pip_requirements=["pandas"])


# name: (how MLflow saves it, the modelyard flavor it becomes, the inputs the signature keeps)
MLFLOW_CASES: dict[str, tuple[Callable[[Path, pd.DataFrame, np.ndarray], None], str, tuple[ColumnSpec, ...]]] = {
    "sklearn-skops": (_save_sklearn("skops"), "sklearn", _FRAME_INPUTS),
    "sklearn-cloudpickle": (_save_sklearn("cloudpickle"), "sklearn", _FRAME_INPUTS),
    "xgboost": (_save_xgboost, "xgboost", _FRAME_INPUTS),
    "xgboost-booster": (_save_xgboost_booster, "xgboost", _FRAME_INPUTS),
    "lightgbm": (_save_lightgbm, "lightgbm", _FRAME_INPUTS),
    "lightgbm-booster": (_save_lightgbm_booster, "lightgbm", _FRAME_INPUTS),
    "onnx": (_save_onnx, "onnx", _TENSOR_INPUTS),
    "python_function": (_save_python_function, "mlflow", _FRAME_INPUTS),
}


def _first_output(result: Any) -> np.ndarray:
    """MLflow's ONNX loader answers every output (a dict, or a DataFrame); the label is the first."""
    if isinstance(result, dict):
        return np.asarray(next(iter(result.values())))
    return result.iloc[:, 0].to_numpy() if isinstance(result, pd.DataFrame) else np.asarray(result)


@pytest.mark.parametrize("case", list(MLFLOW_CASES))
def test_a_model_mlflow_saved_loads_and_imports_with_its_flavor_signature_and_example(
    case: str, tmp_path: Path, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    save, flavor, inputs = MLFLOW_CASES[case]
    x, y = data
    folder = tmp_path / "mlflow-model"
    save(folder, x, y)
    features = _as_tensor_frame(x) if flavor == "onnx" else x
    expected = _first_output(mlflow.pyfunc.load_model(str(folder)).predict(features))

    loaded = load_model_dir(folder)  # the folder as MLflow left it
    assert loaded.flavor == flavor
    assert loaded.signature is not None and loaded.signature.inputs == inputs
    np.testing.assert_array_equal(_first_output(loaded.predict(features)), expected)

    imported = tmp_path / "imported"
    manifest = save_model(folder, imported)  # a modelyard model of its own
    assert manifest.flavor == flavor and manifest.signature == loaded.signature
    predictor = load_model_dir(imported, expected_digest=manifest.digest)
    np.testing.assert_array_equal(_first_output(predictor.predict(features)), expected)
    example = load_input_example(imported)
    assert example is not None and list(example.columns) == [c.name for c in inputs]
    np.testing.assert_allclose(example.to_numpy(dtype=np.float64), features.head(3).to_numpy(dtype=np.float64))
    if flavor == "mlflow":
        assert f"mlflow=={mlflow.__version__}" in manifest.requirements  # it loads through mlflow
    else:
        assert not any(line.startswith("mlflow") for line in manifest.requirements)
    assert folder_requirements(imported) == manifest.requirements
    assert f"mlflow=={mlflow.__version__}" in folder_requirements(folder)  # what serving MLflow's folder needs


def test_output_specs_and_optional_columns_come_across(tmp_path: Path, data: tuple[pd.DataFrame, np.ndarray]) -> None:
    x, y = data
    signature = mlflow.models.ModelSignature.from_dict(
        {
            "inputs": json.dumps(
                [
                    {"type": "double", "name": "a", "required": True},
                    {"type": "double", "name": "b", "required": False},
                    {"type": "long", "name": "n", "required": True},
                ]
            ),
            "outputs": json.dumps([{"type": "long", "required": True}]),
        }
    )
    mlflow.sklearn.save_model(
        LogisticRegression().fit(x, y), tmp_path / "m", signature=signature, pip_requirements=_PIP
    )
    manifest = save_model(tmp_path / "m", tmp_path / "imported")
    assert manifest.signature is not None
    assert manifest.signature.inputs[1] == ColumnSpec(name="b", dtype=DataType.FLOAT64, optional=True)
    assert manifest.signature.outputs == (TensorSpec(dtype="int64", shape=(-1,)),)
    assert manifest.input_example_path is None


def test_importing_a_pickled_model_does_not_unpickle_it(tmp_path: Path, data: tuple[pd.DataFrame, np.ndarray]) -> None:
    """The pickle is copied byte for byte; only loading it (under the trust rule) runs it."""
    x, y = data
    _save_sklearn("pickle")(tmp_path / "m", x, y)
    (tmp_path / "m" / "model.pkl").write_bytes(b"not a pickle at all")  # would fail if unpickled
    manifest = save_model(tmp_path / "m", tmp_path / "imported")
    assert manifest.flavor == "sklearn"
    assert (tmp_path / "imported" / "model" / "model.pkl").read_bytes() == b"not a pickle at all"


# --- modelyard saves, MLflow loads ------------------------------------------------------------


def _onnx_proto(x: pd.DataFrame, y: np.ndarray) -> onnx.ModelProto:
    features = x.to_numpy(dtype=np.float32)
    proto: onnx.ModelProto = to_onnx(LogisticRegression().fit(features, y), features[:1])
    return proto


# name: (the model object, how the library's own MLflow loader is called, what it returns)
MODELYARD_CASES: dict[str, tuple[Callable[[pd.DataFrame, np.ndarray], Any], Any, type | None]] = {
    "sklearn": (lambda x, y: LogisticRegression().fit(x, y), mlflow.sklearn, LogisticRegression),
    "sklearn-pipeline": (
        lambda x, y: make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
        mlflow.sklearn,
        None,
    ),
    "xgboost": (lambda x, y: xgb.XGBClassifier(n_estimators=4, n_jobs=1).fit(x, y), mlflow.xgboost, xgb.XGBClassifier),
    "xgboost-booster": (
        lambda x, y: xgb.train({"nthread": 1}, xgb.DMatrix(x, y), 3),
        mlflow.xgboost,
        xgb.Booster,
    ),
    "lightgbm": (
        lambda x, y: lgb.LGBMClassifier(n_estimators=4, n_jobs=1, verbose=-1).fit(x, y),
        mlflow.lightgbm,
        lgb.Booster,
    ),
    "lightgbm-regressor": (
        lambda x, y: lgb.LGBMRegressor(n_estimators=4, n_jobs=1, verbose=-1).fit(x, y),
        mlflow.lightgbm,
        lgb.Booster,
    ),
    "onnx": (_onnx_proto, mlflow.onnx, onnx.ModelProto),
    "pyfunc": (lambda x, y: Threshold(), None, None),
}


@pytest.mark.parametrize("case", list(MODELYARD_CASES))
def test_mlflow_loads_a_model_modelyard_saved(case: str, tmp_path: Path, data: tuple[pd.DataFrame, np.ndarray]) -> None:
    build, library_loader, native_type = MODELYARD_CASES[case]
    x, y = data
    features = _as_tensor_frame(x) if case == "onnx" else x
    path = tmp_path / "m"
    manifest = save_model(build(x, y), path, input_example=features.head(3))
    expected = load_model_dir(path).predict(features)

    pyfunc = mlflow.pyfunc.load_model(str(path))
    np.testing.assert_array_equal(np.asarray(pyfunc.predict(features)), np.asarray(expected))
    if library_loader is not None:
        native = library_loader.load_model(str(path))
        assert native_type is None or isinstance(native, native_type)

    described = mlflow.models.Model.load(str(path))
    assert described.signature is not None and manifest.signature is not None
    assert described.signature.inputs.input_names() == list(manifest.signature.input_names)
    assert described.signature.outputs is not None
    example = described.load_input_example(str(path))
    pd.testing.assert_frame_equal(example, features.head(3), check_dtype=False)
    assert read_manifest(path).digest == manifest.digest  # the MLmodel file is covered by the digest


def test_mlflow_sees_modelyards_column_types_and_optional_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "f64": [0.5, np.nan],
            "f32": np.array([1.0, 2.0], dtype=np.float32),
            "i32": np.array([1, 2], dtype=np.int32),
            "i64": [1, 2],
            "flag": [True, False],
            "city": ["paris", "lyon"],
        }
    )

    class Echo:
        def predict(self, df: pd.DataFrame) -> np.ndarray:
            return df["i64"].to_numpy()

    save_model(Echo(), tmp_path / "m", input_example=frame)
    inputs = json.loads(mlflow.models.Model.load(str(tmp_path / "m")).signature.to_dict()["inputs"])
    assert inputs == [
        {"type": "double", "name": "f64", "required": False},
        {"type": "float", "name": "f32", "required": True},
        {"type": "integer", "name": "i32", "required": True},
        {"type": "long", "name": "i64", "required": True},
        {"type": "boolean", "name": "flag", "required": True},
        {"type": "string", "name": "city", "required": True},
    ]
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(frame), [1, 2])


def test_a_tampered_modelyard_model_is_refused_by_mlflows_loader_too(
    tmp_path: Path, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    x, _ = data
    save_model(Threshold(), tmp_path / "m", input_example=x.head(3))
    (tmp_path / "m" / "requirements.txt").write_text("evil==1\n")
    with pytest.raises(Conflict, match="do not match its digest"):
        mlflow.pyfunc.load_model(str(tmp_path / "m"))


# --- bad input --------------------------------------------------------------------------------


def _mlflow_folder(tmp_path: Path, mlmodel: str) -> Path:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / MLMODEL_FILE).write_text(mlmodel)
    return folder


def test_an_mlmodel_with_an_unknown_flavor_is_refused_clearly(tmp_path: Path) -> None:
    folder = _mlflow_folder(tmp_path, "flavors:\n  fancy_lib:\n    data: model.bin\n")
    with pytest.raises(InvalidInput, match=r"flavor\(s\) \['fancy_lib'\] and no python_function flavor"):
        load_model_dir(folder)
    with pytest.raises(InvalidInput, match="fancy_lib"):
        save_model(folder, tmp_path / "imported")
    assert not (tmp_path / "imported").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("flavors: [unclosed\n  sklearn: {", "is not valid YAML"),
        ("- just\n- a list\n", "is not a mapping"),
        ("mlflow_version: 3.0\n", "lists no flavors"),
        ("flavors:\n  sklearn:\n    pickled_model: model.pkl\n", "names the file 'model.pkl', which is missing"),
        ("flavors:\n  sklearn:\n    pickled_model: ../../etc/passwd\n", "outside the model folder"),
        (
            "flavors:\n  xgboost: {data: MLmodel, model_class: xgboost.Nope}\n",
            "names the XGBoost class 'xgboost.Nope'",
        ),
    ],
)
def test_a_corrupted_mlmodel_is_refused_clearly(tmp_path: Path, text: str, message: str) -> None:
    folder = _mlflow_folder(tmp_path, text)
    with pytest.raises(InvalidInput, match=message):
        load_model_dir(folder)


def test_a_skops_file_naming_user_code_is_refused(tmp_path: Path, data: tuple[pd.DataFrame, np.ndarray]) -> None:
    x, y = data
    model = make_pipeline(FunctionTransformer(_double), LogisticRegression()).fit(x, y)
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))  # the author trusts _double
    mlflow.sklearn.save_model(
        model, tmp_path / "m", serialization_format="skops", skops_trusted_types=trusted, pip_requirements=_PIP
    )
    with pytest.raises(InvalidInput, match=r"names types outside scikit-learn.*_double"):
        save_model(tmp_path / "m", tmp_path / "imported")


def test_a_modified_mlflow_folder_is_refused_given_its_recorded_digest(
    tmp_path: Path, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    x, y = data
    _save_xgboost(tmp_path / "m", x, y)
    recorded = directory_digest(tmp_path / "m")
    (tmp_path / "m" / "extra.py").write_text("print('hi')\n")
    with pytest.raises(Conflict, match="do not match the digest recorded"):
        load_model_dir(tmp_path / "m", expected_digest=recorded)


def test_a_signature_modelyard_cannot_express_leaves_inputs_unchecked(
    tmp_path: Path, data: tuple[pd.DataFrame, np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    x, y = data
    _save_sklearn("cloudpickle")(tmp_path / "m", x, y)
    mlmodel = (tmp_path / "m" / MLMODEL_FILE).read_text().replace('"type": "long"', '"type": "binary"')
    (tmp_path / "m" / MLMODEL_FILE).write_text(mlmodel)
    with caplog.at_level(logging.WARNING, logger="modelyard.models.mlflow_signature"):
        loaded = load_model_dir(tmp_path / "m")
    assert loaded.signature is None and "'binary' has no modelyard counterpart" in caplog.text
