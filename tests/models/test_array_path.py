"""``Predictor.predict_array``: the same answers as ``predict`` on the frame, or ``None`` (never another check)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from modelyard.models import Predictor, load_model_dir, save_model


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    bunch = load_breast_cancer(as_frame=True)
    return bunch.data.iloc[:, :8], bunch.target


def _saved(tmp_path: Path, model: object, example: Any) -> Predictor:
    save_model(model, tmp_path / "m", input_example=example)
    return load_model_dir(tmp_path / "m")


def _same_as_frame(predictor: Predictor, X: pd.DataFrame) -> None:
    values = X.to_numpy()
    columns = tuple(str(c) for c in X.columns)
    got = predictor.predict_array(values, columns)
    assert got is not None, "the model takes arrays: the array path must answer"
    np.testing.assert_array_equal(got, predictor.predict(X))
    if predictor.has_predict_proba:
        proba = predictor.predict_proba_array(values, columns)
        assert proba is not None
        np.testing.assert_array_equal(proba, predictor.predict_proba(X))
    one = predictor.predict_array(values[3:4], columns)
    np.testing.assert_array_equal(one, predictor.predict(X.iloc[3:4]))


def test_sklearn_named_and_unnamed_estimators(tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    _same_as_frame(_saved(tmp_path / "named", LogisticRegression(max_iter=5_000).fit(X, y), X.head(5)), X)
    unnamed = LogisticRegression(max_iter=5_000).fit(X.to_numpy(), y)
    _same_as_frame(_saved(tmp_path / "unnamed", unnamed, X.head(5)), X)


def test_a_pipeline_fitted_on_names_keeps_the_frame(tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    pipeline = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=5_000))]).fit(X, y)
    predictor = _saved(tmp_path, pipeline, X.head(5))
    assert predictor.predict_array(X.to_numpy(), tuple(X.columns)) is None
    assert predictor.predict_proba_array(X.to_numpy(), tuple(X.columns)) is None


def test_anything_the_signature_would_touch_goes_to_the_frame(
    tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = data
    predictor = _saved(tmp_path, LogisticRegression(max_iter=5_000).fit(X, y), X.head(5))
    columns = tuple(X.columns)
    values = X.head(3).to_numpy()
    assert predictor.predict_array(values[:, ::-1], columns[::-1]) is None  # another order
    assert predictor.predict_array(values[:, 1:], columns[1:]) is None  # a missing column
    extra = np.hstack([values, values[:, :1]])
    assert predictor.predict_array(extra, (*columns, "extra")) is None
    for bad in (np.nan, np.inf):
        broken = values.copy()
        broken[1, 2] = bad
        assert predictor.predict_array(broken, columns) is None  # predict() refuses it, with its message
    assert predictor.predict_array(values.astype(np.float32), columns) is None  # widened per column by predict


def test_float32_signatures_cast_as_predict_casts(tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    X32 = X.astype(np.float32)
    predictor = _saved(tmp_path, LogisticRegression(max_iter=5_000).fit(X32, y), X32.head(5))
    got = predictor.predict_proba_array(X.to_numpy(), tuple(X.columns))  # float64, as JSON gives
    np.testing.assert_array_equal(got, predictor.predict_proba(X))


def test_boosters(tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]) -> None:
    xgb = pytest.importorskip("xgboost")
    lgb = pytest.importorskip("lightgbm")
    X, y = data
    named = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=y), num_boost_round=5)
    _same_as_frame(_saved(tmp_path / "xgb-booster", named, X.head(5)), X)
    wrapper = xgb.XGBClassifier(n_estimators=5).fit(X.to_numpy(), y)
    _same_as_frame(_saved(tmp_path / "xgb-wrapper", wrapper, X.head(5)), X)
    _same_as_frame(_saved(tmp_path / "lgb", lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y), X.head(5)), X)
    booster = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(X, label=y), num_boost_round=5)
    _same_as_frame(_saved(tmp_path / "lgb-booster", booster, X.head(5)), X)


def test_onnx(tmp_path: Path, data: tuple[pd.DataFrame, pd.Series]) -> None:
    pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import FloatTensorType

    X, y = data
    fitted = LogisticRegression(max_iter=5_000).fit(X.to_numpy(np.float32), y)
    proto = skl2onnx.convert_sklearn(
        fitted, initial_types=[("input", FloatTensorType([None, X.shape[1]]))], options={"zipmap": False}
    )
    _same_as_frame(_saved(tmp_path, proto, X.astype(np.float32).head(5)), X.astype(np.float32))
