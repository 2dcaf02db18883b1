"""Attributions equal the shap library's own output (to 1e-6) for every flavor with an exact
explainer, and add up with the base value to the model's own output, row by row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import pytest
import shap
import xgboost
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeRegressor

from modelyard.domain.explain import ExplainerKind
from modelyard.errors import InvalidInput
from modelyard.explain import explainer_for
from modelyard.models import Predictor

TOL = 1e-6


def _regression_target(frame: pd.DataFrame) -> np.ndarray:
    return (2 * frame["a"] - frame["b"] * frame["e"] + 0.3 * frame["c"]).to_numpy()


# name -> (make the model, fit on classification labels?, shap's own values and the model's output)
Case = tuple[Callable[[], Any], bool, Callable[[Any, pd.DataFrame, pd.DataFrame], tuple[np.ndarray, float, np.ndarray]]]


def _tree_proba(model: Any, x: pd.DataFrame, bg: pd.DataFrame) -> tuple[np.ndarray, float, np.ndarray]:
    explainer = shap.TreeExplainer(model)
    return explainer.shap_values(x)[:, :, 1], explainer.expected_value[1], model.predict_proba(x)[:, 1]


def _tree_regression(model: Any, x: pd.DataFrame, bg: pd.DataFrame) -> tuple[np.ndarray, float, np.ndarray]:
    explainer = shap.TreeExplainer(model)
    return explainer.shap_values(x), float(np.atleast_1d(explainer.expected_value)[0]), model.predict(x)


def _gbc(model: Any, x: pd.DataFrame, bg: pd.DataFrame) -> tuple[np.ndarray, float, np.ndarray]:
    explainer = shap.TreeExplainer(model)
    return explainer.shap_values(x), float(np.atleast_1d(explainer.expected_value)[0]), model.decision_function(x)


def _xgb(model: Any, x: pd.DataFrame, bg: pd.DataFrame) -> tuple[np.ndarray, float, np.ndarray]:
    explainer = shap.TreeExplainer(model)
    margin = model.predict(x, output_margin=True)
    return explainer.shap_values(x), float(np.atleast_1d(explainer.expected_value)[0]), margin


def _lgb(model: Any, x: pd.DataFrame, bg: pd.DataFrame) -> tuple[np.ndarray, float, np.ndarray]:
    with pytest.warns(UserWarning):  # shap notes its LightGBM binary output changed shape
        values = shap.TreeExplainer(model.booster_).shap_values(x)
    base = shap.TreeExplainer(model.booster_).expected_value
    return np.asarray(values), float(np.atleast_1d(base)[0]), model.predict(x, raw_score=True)


def _linear(model: Any, x: pd.DataFrame, bg: pd.DataFrame) -> tuple[np.ndarray, float, np.ndarray]:
    explainer = shap.LinearExplainer(model, bg.to_numpy())
    output = model.decision_function(x) if hasattr(model, "decision_function") else model.predict(x)
    return explainer.shap_values(x.to_numpy()), float(np.atleast_1d(explainer.expected_value)[0]), output


def _pipeline(model: Any, x: pd.DataFrame, bg: pd.DataFrame) -> tuple[np.ndarray, float, np.ndarray]:
    head, final = model[:-1], model[-1]
    explainer = shap.LinearExplainer(final, head.transform(bg))
    output = model.decision_function(x) if hasattr(model, "decision_function") else model.predict(x)
    return explainer.shap_values(head.transform(x)), float(np.atleast_1d(explainer.expected_value)[0]), output


def _pipeline_tree(model: Any, x: pd.DataFrame, bg: pd.DataFrame) -> tuple[np.ndarray, float, np.ndarray]:
    head, final = model[:-1], model[-1]
    explainer = shap.TreeExplainer(final)
    return explainer.shap_values(head.transform(x)), float(np.atleast_1d(explainer.expected_value)[0]), model.predict(x)


CASES: dict[str, Case] = {
    "sklearn-random-forest-classifier": (
        lambda: RandomForestClassifier(n_estimators=25, max_depth=6, random_state=0),
        True,
        _tree_proba,
    ),
    "sklearn-random-forest-regressor": (
        lambda: RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0),
        False,
        _tree_regression,
    ),
    "sklearn-extra-trees-regressor": (
        lambda: ExtraTreesRegressor(n_estimators=10, max_depth=5, random_state=0),
        False,
        _tree_regression,
    ),
    "sklearn-decision-tree": (lambda: DecisionTreeRegressor(max_depth=6, random_state=0), False, _tree_regression),
    "sklearn-gradient-boosting-classifier": (
        lambda: GradientBoostingClassifier(n_estimators=20, random_state=0),
        True,
        _gbc,
    ),
    "sklearn-hist-gradient-boosting-classifier": (
        lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0),
        True,
        _gbc,
    ),
    "xgboost-classifier": (lambda: xgboost.XGBClassifier(n_estimators=20, max_depth=4), True, _xgb),
    "lightgbm-classifier": (lambda: lightgbm.LGBMClassifier(n_estimators=20, verbose=-1), True, _lgb),
    "sklearn-logistic-regression": (lambda: LogisticRegression(), True, _linear),
    "sklearn-linear-regression": (lambda: LinearRegression(), False, _linear),
    "sklearn-pipeline-scaler-logistic": (
        lambda: make_pipeline(StandardScaler(), LogisticRegression()),
        True,
        _pipeline,
    ),
    "sklearn-pipeline-minmax-ridge": (lambda: make_pipeline(MinMaxScaler(), Ridge()), False, _pipeline),
    "sklearn-pipeline-scaler-forest": (
        lambda: make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0)),
        False,
        _pipeline_tree,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_attributions_equal_shap_and_add_up_to_the_model_output(
    name: str, frame: pd.DataFrame, labels: np.ndarray, saved: Callable[[str, Any], Predictor]
) -> None:
    make, classify, reference = CASES[name]
    model = make().fit(frame, labels if classify else _regression_target(frame))
    predictor = saved(name, model)
    background = frame.iloc[:100]
    rows = frame.iloc[100:160]
    explainer = explainer_for(predictor, background)
    assert explainer.exact
    kind = ExplainerKind.LINEAR if "logistic" in name or "linear" in name or "ridge" in name else ExplainerKind.TREE
    assert explainer.kind is kind

    got = explainer.explain(rows)
    values, base, output = reference(model, rows, background)

    assert got.features == tuple(frame.columns)
    np.testing.assert_allclose(got.values, values, rtol=0, atol=TOL)
    assert got.base_value == pytest.approx(base, abs=TOL)
    np.testing.assert_allclose(got.outputs, np.asarray(output, dtype=float), rtol=0, atol=1e-5)


def test_a_model_without_an_exact_explainer_gets_a_sampled_one_that_says_so(
    frame: pd.DataFrame, labels: np.ndarray, saved: Callable[[str, Any], Predictor]
) -> None:
    model = KNeighborsClassifier(n_neighbors=7).fit(frame, labels)
    predictor = saved("knn", model)
    explainer = explainer_for(predictor, frame.iloc[:30])
    assert explainer.kind is ExplainerKind.PERMUTATION and not explainer.exact
    assert "approximate" in explainer.note and "30 rows" in explainer.note
    got = explainer.explain(frame.iloc[200:205])
    # Shapley efficiency holds for the permutation estimate too: base + sum = the model's probability.
    np.testing.assert_allclose(got.outputs, model.predict_proba(frame.iloc[200:205])[:, 1], atol=1e-9)
    assert got.base_value == pytest.approx(model.predict_proba(frame.iloc[:30])[:, 1].mean())


def test_a_linear_model_without_background_uses_the_logged_input_example(
    frame: pd.DataFrame, labels: np.ndarray, saved: Callable[[str, Any], Predictor]
) -> None:
    model = LogisticRegression().fit(frame, labels)
    predictor = saved("logistic-example", model)
    explainer = explainer_for(predictor)
    assert "20 rows" in explainer.note  # the saved input example's rows
    got = explainer.explain(frame.iloc[:3])
    np.testing.assert_allclose(got.outputs, model.decision_function(frame.iloc[:3]), atol=1e-9)


def test_rows_that_break_the_signature_are_refused_like_predict_refuses_them(
    frame: pd.DataFrame, labels: np.ndarray, saved: Callable[[str, Any], Predictor]
) -> None:
    predictor = saved("rf-bad-input", RandomForestClassifier(n_estimators=5, random_state=0).fit(frame, labels))
    explainer = explainer_for(predictor)
    with pytest.raises(InvalidInput, match="'e'"):
        explainer.explain(frame.drop(columns=["e"]).head(2))
    with pytest.raises(InvalidInput, match="'a'"):
        explainer.explain(frame.head(2).assign(a="high"))
    with pytest.raises(InvalidInput, match="no rows"):
        explainer.explain(frame.head(0))
