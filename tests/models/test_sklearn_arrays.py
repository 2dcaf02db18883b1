"""The scikit-learn flavor's array path: same predictions as the estimator on the DataFrame, no warning."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from modelyard.models import load_model_dir, save_model
from modelyard.models.flavors.sklearn import array_twin


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    bunch = load_breast_cancer(as_frame=True)
    return bunch.data, bunch.target


@pytest.mark.parametrize(
    "estimator",
    [LogisticRegression(max_iter=5_000), RandomForestClassifier(n_estimators=5, random_state=0)],
    ids=["logistic", "forest"],
)
def test_named_estimator_predicts_identically_from_the_array(
    tmp_path, data: tuple[pd.DataFrame, pd.Series], estimator: object
) -> None:
    X, y = data
    fitted = estimator.fit(X, y)  # type: ignore[attr-defined]
    save_model(fitted, tmp_path / "m", input_example=X.head(5))
    predictor = load_model_dir(tmp_path / "m")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the array path must not warn about feature names
        got = predictor.predict(X)
        proba = predictor.predict_proba(X.iloc[[3]])
    np.testing.assert_array_equal(got, fitted.predict(X))  # type: ignore[attr-defined]
    np.testing.assert_array_equal(proba, fitted.predict_proba(X.iloc[[3]]))  # type: ignore[attr-defined]
    assert array_twin(predictor.native) is not None
    assert hasattr(predictor.native, "feature_names_in_")  # the user's estimator is untouched


def test_pipeline_keeps_the_dataframe(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = data
    pipeline = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=5_000))]).fit(X, y)
    assert array_twin(pipeline) is None
    assert array_twin(LogisticRegression(max_iter=5_000).fit(X.to_numpy(), y)) is None  # no names: arrays already
