"""Every flavor round-trips: a saved then loaded model predicts exactly what the original did.

Also: which flavor an object is detected as, and the clear errors for objects no flavor takes.
"""

from __future__ import annotations

import importlib
import json
import pickle
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
import xgboost as xgb
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelyard.errors import BackendUnavailable, InvalidInput
from modelyard.models import (
    MANIFEST_NAME,
    DataType,
    ModelManifest,
    detect_flavor,
    get_flavor,
    load_model_dir,
    manifest_digest,
    save_model,
)
from modelyard.models.flavors import flavor_names

from .conftest import SaveLoad


def _same(actual: object, expected: object) -> None:
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))


def _three_classes(frame: pd.DataFrame) -> np.ndarray:
    column = frame.iloc[:, 0].to_numpy()
    q1, q2 = np.quantile(column, [0.33, 0.66])
    return np.where(column < q1, "low", np.where(column < q2, "mid", "high"))


# --- scikit-learn -----------------------------------------------------------------------------


def test_sklearn_classifier_round_trips(
    save_load: SaveLoad, numeric_frame: pd.DataFrame, binary_target: np.ndarray
) -> None:
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(numeric_frame, binary_target)
    manifest, predictor = save_load(model, input_example=numeric_frame.head(5))
    assert manifest.flavor == predictor.flavor == "sklearn"
    _same(predictor.predict(numeric_frame), model.predict(numeric_frame))
    assert predictor.has_predict_proba
    _same(predictor.predict_proba(numeric_frame), model.predict_proba(numeric_frame))


def test_sklearn_regressor_has_no_predict_proba(save_load: SaveLoad, numeric_frame: pd.DataFrame) -> None:
    model = LinearRegression().fit(numeric_frame, numeric_frame["x1"] * 2)
    _, predictor = save_load(model, input_example=numeric_frame.head(5))
    _same(predictor.predict(numeric_frame), model.predict(numeric_frame))
    assert not predictor.has_predict_proba
    with pytest.raises(InvalidInput, match="no predict_proba"):
        predictor.predict_proba(numeric_frame)


def test_sklearn_fitted_on_an_array_takes_the_frame_of_that_array(
    save_load: SaveLoad, numeric_frame: pd.DataFrame, binary_target: np.ndarray
) -> None:
    array = numeric_frame.to_numpy()
    model = LogisticRegression().fit(array, binary_target)
    manifest, predictor = save_load(model, input_example=array[:5])
    assert manifest.signature is not None and manifest.signature.input_names == ("0", "1", "2")
    _same(predictor.predict(pd.DataFrame(array)), model.predict(array))
    _same(predictor.predict_proba(pd.DataFrame(array)), model.predict_proba(array))


def test_sklearn_pipeline_with_column_transformer_round_trips(save_load: SaveLoad, mixed_frame: pd.DataFrame) -> None:
    labels = _three_classes(mixed_frame)
    pipeline = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["age", "visits"]),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                    ]
                ),
            ),
            ("model", LogisticRegression(max_iter=200)),
        ]
    ).fit(mixed_frame, labels)
    manifest, predictor = save_load(pipeline, input_example=mixed_frame.head(5))
    assert manifest.flavor == "sklearn"
    assert manifest.signature is not None
    assert [c.dtype for c in manifest.signature.inputs] == [DataType.FLOAT64, DataType.INT64, DataType.STRING]
    _same(predictor.predict(mixed_frame), pipeline.predict(mixed_frame))
    _same(predictor.predict_proba(mixed_frame), pipeline.predict_proba(mixed_frame))
    # columns in another order are put back in the signature's order before the pipeline sees them
    shuffled = mixed_frame[["city", "age", "visits"]]
    _same(predictor.predict(shuffled), pipeline.predict(mixed_frame))


# --- XGBoost ----------------------------------------------------------------------------------


def test_xgboost_classifier_round_trips(
    save_load: SaveLoad, tmp_path: Path, numeric_frame: pd.DataFrame, binary_target: np.ndarray
) -> None:
    model = xgb.XGBClassifier(n_estimators=10, n_jobs=1, max_depth=3).fit(numeric_frame, binary_target)
    manifest, predictor = save_load(model, input_example=numeric_frame.head(5))
    assert manifest.flavor == "xgboost"
    assert sorted(p.name for p in tmp_path.glob("model-*/model/*")) == ["flavor.json", "model.json"]
    _same(predictor.predict(numeric_frame), model.predict(numeric_frame))
    _same(predictor.predict_proba(numeric_frame), model.predict_proba(numeric_frame))


def test_xgboost_regressor_round_trips(save_load: SaveLoad, numeric_frame: pd.DataFrame) -> None:
    model = xgb.XGBRegressor(n_estimators=10, n_jobs=1, max_depth=3).fit(numeric_frame, numeric_frame["x2"])
    _, predictor = save_load(model, input_example=numeric_frame.head(5))
    _same(predictor.predict(numeric_frame), model.predict(numeric_frame))
    assert not predictor.has_predict_proba


@pytest.mark.parametrize("named", [True, False], ids=["feature-names", "array"])
def test_xgboost_booster_round_trips(
    save_load: SaveLoad, numeric_frame: pd.DataFrame, binary_target: np.ndarray, named: bool
) -> None:
    data = numeric_frame if named else numeric_frame.to_numpy()
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(data, label=binary_target),
        num_boost_round=10,
    )
    manifest, predictor = save_load(booster, input_example=data[:5] if not named else numeric_frame.head(5))
    assert manifest.flavor == "xgboost"
    request = numeric_frame if named else pd.DataFrame(data)
    _same(predictor.predict(request), booster.predict(xgb.DMatrix(data)))


# --- LightGBM ---------------------------------------------------------------------------------


def test_lightgbm_classifier_round_trips_with_string_classes(save_load: SaveLoad, numeric_frame: pd.DataFrame) -> None:
    labels = _three_classes(numeric_frame)
    model = lgb.LGBMClassifier(n_estimators=10, n_jobs=1, min_child_samples=2, verbose=-1).fit(numeric_frame, labels)
    manifest, predictor = save_load(model, input_example=numeric_frame.head(5))
    assert manifest.flavor == "lightgbm"
    result = predictor.predict(numeric_frame)
    _same(result, model.predict(numeric_frame))
    assert set(np.asarray(result).tolist()) <= {"low", "mid", "high"}
    _same(predictor.predict_proba(numeric_frame), model.predict_proba(numeric_frame))


def test_lightgbm_binary_classifier_round_trips(
    save_load: SaveLoad, numeric_frame: pd.DataFrame, binary_target: np.ndarray
) -> None:
    model = lgb.LGBMClassifier(n_estimators=10, n_jobs=1, min_child_samples=2, verbose=-1).fit(
        numeric_frame, binary_target
    )
    _, predictor = save_load(model, input_example=numeric_frame.head(5))
    _same(predictor.predict(numeric_frame), model.predict(numeric_frame))
    _same(predictor.predict_proba(numeric_frame), model.predict_proba(numeric_frame))


def test_lightgbm_regressor_and_booster_round_trip(save_load: SaveLoad, numeric_frame: pd.DataFrame) -> None:
    model = lgb.LGBMRegressor(n_estimators=10, n_jobs=1, min_child_samples=2, verbose=-1).fit(
        numeric_frame, numeric_frame["x2"]
    )
    _, predictor = save_load(model, input_example=numeric_frame.head(5))
    _same(predictor.predict(numeric_frame), model.predict(numeric_frame))
    assert not predictor.has_predict_proba
    manifest, from_booster = save_load(model.booster_, input_example=numeric_frame.head(5))
    assert manifest.flavor == "lightgbm"
    _same(from_booster.predict(numeric_frame), model.booster_.predict(numeric_frame))


# --- ONNX -------------------------------------------------------------------------------------


def _run_onnx(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)  # type: ignore[no-any-return]


def test_onnx_from_skl2onnx_round_trips(
    save_load: SaveLoad, numeric_frame: pd.DataFrame, binary_target: np.ndarray
) -> None:
    features = numeric_frame.astype(np.float32)
    model = LogisticRegression().fit(features.to_numpy(), binary_target)
    proto = to_onnx(model, features.to_numpy()[:1], options={"zipmap": False})
    manifest, predictor = save_load(proto, input_example=features.head(5))
    assert manifest.flavor == "onnx"
    labels, probabilities = _run_onnx(proto, {"X": features.to_numpy()})
    _same(predictor.predict(features), labels)
    _same(predictor.predict(features), model.predict(features.to_numpy()))
    _same(predictor.predict_proba(features), probabilities)
    # float64 (what JSON numbers parse to) and integer columns are cast to the float32 the graph takes
    _same(predictor.predict(numeric_frame), labels)
    as_ints = pd.DataFrame({"x1": [1, 0], "x2": [0, 2], "n": [3, 4]})
    _same(predictor.predict(as_ints), model.predict(as_ints.to_numpy(dtype=np.float32)))


def test_onnx_zipmap_probabilities_come_back_as_an_array(
    save_load: SaveLoad, numeric_frame: pd.DataFrame, binary_target: np.ndarray
) -> None:
    features = numeric_frame.astype(np.float32)
    model = LogisticRegression().fit(features.to_numpy(), binary_target)
    proto = to_onnx(model, features.to_numpy()[:1])  # ZipMap: one {class: p} dict per row
    _, predictor = save_load(proto, input_example=features.head(5))
    _, zipped = _run_onnx(proto, {"X": features.to_numpy()})
    expected = np.array([[row[0], row[1]] for row in zipped])
    _same(predictor.predict_proba(features), expected)
    assert predictor.predict_proba(features).shape == (len(features), 2)


def test_onnx_pipeline_with_one_input_per_column_round_trips(save_load: SaveLoad, mixed_frame: pd.DataFrame) -> None:
    frame = mixed_frame.assign(age=mixed_frame["age"].astype(np.float32), visits=mixed_frame["visits"].astype(np.int64))
    labels = _three_classes(frame)
    pipeline = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["age", "visits"]),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                    ]
                ),
            ),
            ("model", LogisticRegression(max_iter=200)),
        ]
    ).fit(frame, labels)
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    proto = to_onnx(
        pipeline,
        initial_types=[
            ("age", FloatTensorType([None, 1])),
            ("visits", Int64TensorType([None, 1])),
            ("city", StringTensorType([None, 1])),
        ],
        options={"zipmap": False},
    )
    _, predictor = save_load(proto, input_example=frame.head(5))
    feeds = {
        "age": frame[["age"]].to_numpy(dtype=np.float32),
        "visits": frame[["visits"]].to_numpy(dtype=np.int64),
        "city": frame[["city"]].to_numpy(dtype=object),
    }
    onnx_labels, onnx_probabilities = _run_onnx(proto, feeds)
    _same(predictor.predict(frame), onnx_labels)
    _same(predictor.predict_proba(frame), onnx_probabilities)
    assert (np.asarray(predictor.predict(frame)) == pipeline.predict(frame)).mean() > 0.9


def test_onnx_graph_made_with_the_helper_round_trips(save_load: SaveLoad, tmp_path: Path) -> None:
    weights = np.array([[2.0], [-1.0], [0.5]], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "linear",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])],
        initializer=[helper.make_tensor("W", TensorProto.FLOAT, [3, 1], weights.flatten().tolist())],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    frame = pd.DataFrame({"a": [1.0, 0.0, 2.0], "b": [0.0, 1.0, 2.0], "c": [4.0, 0.0, 2.0]}, dtype=np.float32)
    _, predictor = save_load(proto, input_example=frame)
    expected = frame.to_numpy() @ weights
    _same(predictor.predict(frame), expected)
    assert not predictor.has_predict_proba
    # the same model from a .onnx file on disk
    file = tmp_path / "linear.onnx"
    onnx.save(proto, file)
    manifest, from_file = save_load(file, input_example=frame)
    assert manifest.flavor == "onnx"
    _same(from_file.predict(frame), expected)


# --- pyfunc -----------------------------------------------------------------------------------


class ThresholdModel:
    """A user's own model class, defined in a test module (pickled by reference to it)."""

    def __init__(self, column: str, threshold: float) -> None:
        self.column = column
        self.threshold = threshold

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return (df[self.column] > self.threshold).astype(int).to_numpy()

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        high = 1 / (1 + np.exp(-(df[self.column].to_numpy() - self.threshold)))
        return np.column_stack([1 - high, high])


class FrameModel:
    """Returns a DataFrame, as some user models do; it comes back unchanged."""

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"double": df["x1"] * 2, "label": np.where(df["x1"] > 0, "pos", "neg")})


def test_pyfunc_round_trips_a_test_module_class(save_load: SaveLoad, numeric_frame: pd.DataFrame) -> None:
    model = ThresholdModel("x1", 0.25)
    manifest, predictor = save_load(model, input_example=numeric_frame.head(5))
    assert manifest.flavor == "pyfunc"
    _same(predictor.predict(numeric_frame), model.predict(numeric_frame))
    assert predictor.has_predict_proba
    _same(predictor.predict_proba(numeric_frame), model.predict_proba(numeric_frame))


@pytest.mark.slow
def test_pyfunc_test_module_class_loads_in_a_process_without_the_tests(
    tmp_path: Path, numeric_frame: pd.DataFrame
) -> None:
    model = ThresholdModel("x1", 0.25)
    target = tmp_path / "model"
    save_model(model, target, input_example=numeric_frame.head(5))
    meta = json.loads((target / "model" / "flavor.json").read_text())
    assert meta["class_by_value"] is True and meta["class"].endswith("test_flavors.ThresholdModel")
    numeric_frame.to_parquet(tmp_path / "request.parquet")
    script = (
        "import sys, json, pandas as pd\n"
        "from modelyard.models import load_model_dir\n"
        "assert not any('test_flavors' in m for m in sys.modules)\n"
        f"predictor = load_model_dir({str(target)!r})\n"
        f"print(json.dumps(predictor.predict(pd.read_parquet({str(tmp_path / 'request.parquet')!r})).tolist()))\n"
    )
    # a fresh interpreter in an unrelated folder: the tests folder is not importable there
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == model.predict(numeric_frame).tolist()


def test_pyfunc_class_from_an_installed_library_is_stored_by_reference(save_load: SaveLoad, tmp_path: Path) -> None:
    from sklearn.dummy import DummyRegressor

    model = DummyRegressor(constant=2.0, strategy="constant").fit([[0.0]], [0.0])
    _, predictor = save_load(model, flavor="pyfunc")
    meta = json.loads(next(tmp_path.glob("model-*/model/flavor.json")).read_text())
    assert meta["class_by_value"] is False
    _same(predictor.predict(pd.DataFrame({"0": [1.0, 5.0]})), [2.0, 2.0])


def test_pyfunc_whose_module_is_missing_names_it(
    tmp_path: Path, numeric_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A model pickled by reference to a module that this environment lacks, as one saved elsewhere
    # (or with the standard library's pickle) can be: pickle an instance of a class from a module
    # that is importable only while the test puts its folder on sys.path.
    code = tmp_path / "code"
    code.mkdir()
    (code / "gone_module_xy.py").write_text("class Model:\n    def predict(self, df):\n        return df\n")
    monkeypatch.syspath_prepend(str(code))
    module = importlib.import_module("gone_module_xy")
    target = tmp_path / "m"
    save_model(ThresholdModel("x1", 0.0), target, input_example=numeric_frame.head(2))
    (target / "model" / "model.pkl").write_bytes(pickle.dumps(module.Model()))
    _edit_digest(target)
    monkeypatch.delitem(sys.modules, "gone_module_xy")
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry != str(code)])
    with pytest.raises(BackendUnavailable, match="needs the Python module 'gone_module_xy'") as info:
        load_model_dir(target)
    assert info.value.details["module"] == "gone_module_xy"


def _edit_digest(root: Path) -> None:
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    manifest["digest"] = manifest_digest(root, ModelManifest.from_dict(manifest))
    (root / MANIFEST_NAME).write_text(json.dumps(manifest))


def test_pyfunc_returning_a_frame(save_load: SaveLoad, numeric_frame: pd.DataFrame) -> None:
    _, predictor = save_load(FrameModel(), input_example=numeric_frame.head(5))
    result = predictor.predict(numeric_frame)
    assert isinstance(result, pd.DataFrame)
    pd.testing.assert_frame_equal(result, FrameModel().predict(numeric_frame))
    assert not predictor.has_predict_proba


def test_pyfunc_round_trips_a_locally_defined_class(save_load: SaveLoad, numeric_frame: pd.DataFrame) -> None:
    offset = 3.0

    class Local:  # not importable by name: needs cloudpickle, which stores it by value
        def predict(self, df: pd.DataFrame) -> np.ndarray:
            return df["x1"].to_numpy() + offset

    manifest, predictor = save_load(Local(), input_example=numeric_frame.head(5))
    assert any(line.startswith("cloudpickle==") for line in manifest.requirements)
    _same(predictor.predict(numeric_frame), numeric_frame["x1"].to_numpy() + offset)


def test_flavor_can_be_forced_to_pyfunc(
    save_load: SaveLoad, numeric_frame: pd.DataFrame, binary_target: np.ndarray
) -> None:
    model = LogisticRegression().fit(numeric_frame, binary_target)
    manifest, predictor = save_load(model, input_example=numeric_frame.head(5), flavor="pyfunc")
    assert manifest.flavor == "pyfunc"
    _same(predictor.predict(numeric_frame), model.predict(numeric_frame))
    _same(predictor.predict_proba(numeric_frame), model.predict_proba(numeric_frame))


# --- detection and refusals -------------------------------------------------------------------


def test_flavor_is_detected_from_the_object(
    numeric_frame: pd.DataFrame, binary_target: np.ndarray, tmp_path: Path
) -> None:
    (tmp_path / "MLmodel").write_text("flavors: {python_function: {loader_module: mlflow.pyfunc.model}}\n")
    xgb_model = xgb.XGBClassifier(n_estimators=2, n_jobs=1).fit(numeric_frame, binary_target)
    lgb_model = lgb.LGBMRegressor(n_estimators=2, n_jobs=1, verbose=-1).fit(numeric_frame, binary_target)
    sk_model = LogisticRegression().fit(numeric_frame, binary_target)
    proto = to_onnx(sk_model, numeric_frame.to_numpy(dtype=np.float32)[:1])
    cases = {
        "xgboost": [xgb_model, xgb_model.get_booster()],
        "lightgbm": [lgb_model, lgb_model.booster_],
        "onnx": [proto],
        "sklearn": [sk_model, Pipeline([("m", sk_model)])],
        "mlflow": [tmp_path, str(tmp_path)],  # the path of a folder MLflow saved
        "pyfunc": [ThresholdModel("x1", 0.0)],
    }
    for name, models in cases.items():
        for model in models:
            assert detect_flavor(model).name == name, type(model).__name__
    assert set(cases) == set(flavor_names())


@pytest.mark.parametrize(
    "obj", [object(), ThresholdModel, "model.pkl", np.zeros(3), {"predict": 1}], ids=lambda o: type(o).__name__
)
def test_an_object_with_no_flavor_gets_a_clear_error(tmp_path: Path, obj: object) -> None:
    with pytest.raises(InvalidInput, match=r"cannot save a .* as a model: pass a scikit-learn"):
        detect_flavor(obj)
    with pytest.raises(InvalidInput, match="cannot save"):
        save_model(obj, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_a_forced_flavor_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be saved with the xgboost flavor"):
        save_model(ThresholdModel("x1", 0.0), tmp_path / "m", flavor="xgboost")
    with pytest.raises(InvalidInput, match=r"unknown model flavor 'keras'; known: xgboost"):
        get_flavor("keras")


@pytest.mark.parametrize(
    "model",
    [LogisticRegression(), xgb.XGBClassifier(n_estimators=2, n_jobs=1), lgb.LGBMClassifier(n_estimators=2, n_jobs=1)],
    ids=["sklearn", "xgboost", "lightgbm"],
)
def test_unfitted_models_are_refused(tmp_path: Path, model: object) -> None:
    with pytest.raises(InvalidInput, match="not fitted"):
        save_model(model, tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


class MyXGB(xgb.XGBClassifier):
    """A subclass the native format cannot restore."""


def test_xgboost_subclass_must_use_pyfunc(
    save_load: SaveLoad, tmp_path: Path, numeric_frame: pd.DataFrame, binary_target: np.ndarray
) -> None:
    model = MyXGB(n_estimators=2, n_jobs=1).fit(numeric_frame, binary_target)
    with pytest.raises(InvalidInput, match="flavor='pyfunc'"):
        save_model(model, tmp_path / "m")
    _, predictor = save_load(model, flavor="pyfunc")
    _same(predictor.predict(numeric_frame), model.predict(numeric_frame))


@pytest.mark.parametrize(
    ("module", "extra"), [("lightgbm", "lightgbm"), ("xgboost", "xgboost"), ("onnxruntime", "onnx")]
)
def test_a_missing_flavor_library_names_the_extra_to_install(
    tmp_path: Path,
    numeric_frame: pd.DataFrame,
    binary_target: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
    module: str,
    extra: str,
) -> None:
    models = {
        "lightgbm": lambda: lgb.LGBMRegressor(n_estimators=2, n_jobs=1, verbose=-1).fit(numeric_frame, binary_target),
        "xgboost": lambda: xgb.XGBRegressor(n_estimators=2, n_jobs=1).fit(numeric_frame, binary_target),
        "onnxruntime": lambda: to_onnx(
            LinearRegression().fit(numeric_frame.to_numpy(np.float32), binary_target),
            numeric_frame.to_numpy(np.float32)[:1],
        ),
    }
    save_model(models[module](), tmp_path / "m")
    monkeypatch.setitem(sys.modules, module, None)  # what an environment without the library gives
    with pytest.raises(BackendUnavailable, match=rf"pip install 'modelyard\[{extra}\]'") as info:
        load_model_dir(tmp_path / "m")
    assert info.value.details == {"module": module, "extra": extra}
