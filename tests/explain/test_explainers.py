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
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
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


def _lgb_regression(model: Any, x: pd.DataFrame, bg: pd.DataFrame) -> tuple[np.ndarray, float, np.ndarray]:
    explainer = shap.TreeExplainer(model.booster_)
    return explainer.shap_values(x), float(np.atleast_1d(explainer.expected_value)[0]), model.predict(x, raw_score=True)


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
    "sklearn-extra-trees-classifier": (
        lambda: ExtraTreesClassifier(n_estimators=10, max_depth=5, random_state=0),
        True,
        _tree_proba,
    ),
    "sklearn-gradient-boosting-regressor": (
        lambda: GradientBoostingRegressor(n_estimators=20, random_state=0),
        False,
        _tree_regression,
    ),
    "sklearn-hist-gradient-boosting-regressor": (
        lambda: HistGradientBoostingRegressor(max_iter=20, random_state=0),
        False,
        _tree_regression,
    ),
    "xgboost-classifier": (lambda: xgboost.XGBClassifier(n_estimators=20, max_depth=4), True, _xgb),
    "xgboost-regressor": (lambda: xgboost.XGBRegressor(n_estimators=20, max_depth=4), False, _xgb),
    "lightgbm-classifier": (lambda: lightgbm.LGBMClassifier(n_estimators=20, verbose=-1), True, _lgb),
    "lightgbm-regressor": (lambda: lightgbm.LGBMRegressor(n_estimators=20, verbose=-1), False, _lgb_regression),
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


def _xgboost_booster(frame: pd.DataFrame, labels: np.ndarray) -> tuple[Any, Callable[[pd.DataFrame], np.ndarray]]:
    params = {"objective": "binary:logistic", "max_depth": 4}
    booster = xgboost.train(params, xgboost.DMatrix(frame, label=labels), num_boost_round=20)
    return booster, lambda x: booster.predict(xgboost.DMatrix(x), output_margin=True)


def _lightgbm_booster(frame: pd.DataFrame, labels: np.ndarray) -> tuple[Any, Callable[[pd.DataFrame], np.ndarray]]:
    params = {"objective": "regression", "verbose": -1}
    booster = lightgbm.train(params, lightgbm.Dataset(frame, label=_regression_target(frame)), num_boost_round=20)
    return booster, lambda x: booster.predict(x, raw_score=True)


@pytest.mark.parametrize("name", ["xgboost-booster", "lightgbm-booster"])
def test_native_boosters_are_explained_like_shap_explains_them(
    name: str, frame: pd.DataFrame, labels: np.ndarray, saved: Callable[[str, Any], Predictor]
) -> None:
    booster, raw_output = (_xgboost_booster if name.startswith("xgboost") else _lightgbm_booster)(frame, labels)
    rows = frame.iloc[100:160]
    explainer = explainer_for(saved(name, booster))
    assert explainer.kind is ExplainerKind.TREE and explainer.exact
    got = explainer.explain(rows)
    reference = shap.TreeExplainer(booster)
    np.testing.assert_allclose(got.values, reference.shap_values(rows), rtol=0, atol=TOL)
    assert got.base_value == pytest.approx(float(np.atleast_1d(reference.expected_value)[0]), abs=TOL)
    np.testing.assert_allclose(got.outputs, raw_output(rows), rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", ["forest", "logistic"])
def test_a_multiclass_model_is_explained_for_its_last_class_or_the_one_asked_for(
    kind: str, frame: pd.DataFrame, saved: Callable[[str, Any], Predictor]
) -> None:
    three = np.digitize(frame["a"] + frame["b"], [-0.7, 0.7])  # classes 0, 1, 2
    if kind == "forest":
        model: Any = RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0).fit(frame, three)
        reference = shap.TreeExplainer(model)
        values, output = np.asarray(reference.shap_values(frame.iloc[:40])), model.predict_proba(frame.iloc[:40])
    else:
        model = LogisticRegression().fit(frame, three)
        reference = shap.LinearExplainer(model, frame.iloc[:100].to_numpy())
        values = np.asarray(reference.shap_values(frame.iloc[:40].to_numpy()))
        output = model.decision_function(frame.iloc[:40])
    background = frame.iloc[:100]
    for class_index in (None, 0, 1):
        predictor = saved(f"multiclass-{kind}", model)
        got = explainer_for(predictor, background, class_index=class_index).explain(frame.iloc[:40])
        k = 2 if class_index is None else class_index
        np.testing.assert_allclose(got.values, values[:, :, k], rtol=0, atol=TOL)
        assert got.base_value == pytest.approx(float(reference.expected_value[k]), abs=TOL)
        np.testing.assert_allclose(got.outputs, output[:, k], rtol=0, atol=1e-9)
    with pytest.raises(InvalidInput, match="out of range"):
        explainer_for(saved(f"multiclass-{kind}", model), background, class_index=3).explain(frame.iloc[:2])


def test_the_sampled_explainer_equals_shaps_permutation_explainer_on_the_same_background(
    frame: pd.DataFrame, labels: np.ndarray, saved: Callable[[str, Any], Predictor]
) -> None:
    model = KNeighborsClassifier(n_neighbors=7).fit(frame, labels)
    background = frame.iloc[:30]
    got = explainer_for(saved("knn", model), background).explain(frame.iloc[200:205])
    evals = 10 * len(frame.columns)
    reference = shap.PermutationExplainer(
        lambda m: model.predict_proba(pd.DataFrame(m, columns=frame.columns))[:, 1],
        shap.maskers.Independent(background.to_numpy(), max_samples=len(background)),
        seed=0,
    )(frame.iloc[200:205].to_numpy(), max_evals=evals, silent=True)
    np.testing.assert_allclose(got.values, reference.values, rtol=0, atol=TOL)
    assert got.base_value == pytest.approx(float(np.atleast_1d(reference.base_values)[0]), abs=TOL)


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
