"""The fastest exact SHAP explainer for a loaded model, or a sampled one said to be so.

``explainer_for`` looks at the library object behind a ``Predictor`` (``Predictor.native``):

* trees and tree ensembles (scikit-learn trees, forests, extra trees, gradient boosting,
  XGBoost, LightGBM) get ``shap.TreeExplainer`` with the tree-path-dependent algorithm: exact
  Shapley values of the model's raw output (probabilities for scikit-learn forests, log-odds for
  boosted classifiers), no background data needed;
* linear models (anything in ``sklearn.linear_model`` with ``coef_``) get ``shap.LinearExplainer``:
  exact for the independent masker, ``coef * (x - mean of the background)``, on the log-odds of
  a logistic model;
* either inside a scikit-learn ``Pipeline`` whose earlier steps transform each column on its own
  and invertibly (the scalers): the attributions of a transformed column are its original
  column's, so the explanation stays exact and in the input's feature names;
* anything else gets ``shap.PermutationExplainer`` on the model's probability (or prediction)
  with a background sample: an estimate, and ``exact`` is ``False`` and ``note`` says so.

Classifiers are explained for one class, by default the last one (the positive class of a binary
model); every explainer's attributions add up, with the base value, to the output it names.
Building one is the costly part (importing shap, walking the trees); the serving and monitoring
contexts build one per loaded model and keep it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelyard.domain.explain import ExplainerKind
from modelyard.errors import BackendUnavailable, InvalidInput
from modelyard.models import Predictor
from modelyard.models.signature import enforce_signature

DEFAULT_BACKGROUND_ROWS = 100
LINEAR_BACKGROUND_ROWS = 10_000
"""A linear explainer only takes the background's mean (and covariance), so it can afford many rows."""
_ELEMENTWISE = frozenset({"StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler"})
_SKLEARN_TREES = frozenset(
    {
        "DecisionTreeClassifier",
        "DecisionTreeRegressor",
        "ExtraTreeClassifier",
        "ExtraTreeRegressor",
        "RandomForestClassifier",
        "RandomForestRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
        "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor",
    }
)


def _shap() -> Any:
    try:
        with warnings.catch_warnings():  # shap's plotting colour maps warn under new matplotlib
            warnings.simplefilter("ignore")
            import shap  # heavy (numba); imported only when something is explained
    except ImportError as exc:
        raise BackendUnavailable(
            "explanations need the shap package; run: pip install 'modelyard[explain]'", module="shap"
        ) from exc
    return shap


@dataclass(frozen=True, kw_only=True)
class Attributions:
    """Per-row attributions: ``values[i, j]`` is feature ``j``'s share of row ``i``'s output.

    ``base_value + values[i].sum()`` is the explained output of row ``i`` (``outputs``).
    """

    features: tuple[str, ...]
    values: np.ndarray
    base_value: float
    data: pd.DataFrame

    @property
    def outputs(self) -> np.ndarray:
        result: np.ndarray = self.base_value + self.values.sum(axis=1)
        return result

    def mean_abs(self) -> dict[str, float]:
        """Mean |attribution| per feature: the global importance."""
        means = np.abs(self.values).mean(axis=0) if len(self.values) else np.zeros(len(self.features))
        return {name: float(v) for name, v in zip(self.features, means, strict=True)}


class Explainer:
    """Attributions for rows of one model's input, computed the same way every time.

    Made by ``explainer_for``; ``explain`` checks rows against the model's signature first (the
    same ``InvalidInput`` predict raises) and is safe to call from several threads.
    """

    def __init__(
        self,
        *,
        predictor: Predictor,
        kind: ExplainerKind,
        exact: bool,
        output: str,
        note: str,
        compute: Callable[[pd.DataFrame], tuple[np.ndarray, float]],
    ) -> None:
        self.predictor = predictor
        self.kind = kind
        self.exact = exact
        self.output = output
        self.note = note
        self._compute = compute

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` as the model takes it: checked and ordered by the signature when there is one."""
        if not isinstance(frame, pd.DataFrame):
            raise InvalidInput(f"rows to explain must be a pandas DataFrame, got {type(frame).__name__}")
        if len(frame) == 0:
            raise InvalidInput("there are no rows to explain")
        signature = self.predictor.signature
        return frame if signature is None else enforce_signature(frame, signature)

    def explain(self, frame: pd.DataFrame) -> Attributions:
        """Attributions of every row of ``frame`` (``InvalidInput`` when it breaks the signature)."""
        data = self.conform(frame)
        return self.explain_conformed(data)

    def explain_conformed(self, data: pd.DataFrame) -> Attributions:
        """``explain`` for rows already conformed (``conform``), e.g. by a caller that also predicts."""
        values, base = self._compute(data)
        return Attributions(features=tuple(str(c) for c in data.columns), values=values, base_value=base, data=data)

    def __repr__(self) -> str:
        return f"<Explainer {self.kind.value} exact={self.exact} output={self.output!r}>"


def explainer_for(
    predictor: Predictor,
    background: pd.DataFrame | None = None,
    *,
    class_index: int | None = None,
    background_rows: int = DEFAULT_BACKGROUND_ROWS,
    seed: int = 0,
) -> Explainer:
    """The fastest exact explainer for ``predictor`` (see the module docstring).

    ``background`` (rows of the model's input, e.g. training data) is the baseline of linear and
    permutation explainers; a permutation explainer uses at most ``background_rows`` of it (each
    one costs model calls), a linear one up to ``LINEAR_BACKGROUND_ROWS``. Without one they fall
    back to the model's input example. Tree explainers need none.
    """
    shap = _shap()
    native = predictor.native
    pipeline_steps = _pipeline(native)
    transform: Callable[[pd.DataFrame], Any] = _as_model_input(native)
    final = native
    if pipeline_steps is not None:
        head, final = pipeline_steps
        transform = head
    if _is_tree(final):
        return _tree(shap, predictor, final, transform, class_index)
    if _is_linear(final):
        bg = _background(predictor, background, max(background_rows, LINEAR_BACKGROUND_ROWS), seed)
        return _linear(shap, predictor, final, transform, bg, class_index)
    bg = _background(predictor, background, background_rows, seed)
    return _permutation(shap, predictor, bg, class_index, seed)


def _pipeline(native: object) -> tuple[Callable[[pd.DataFrame], Any], object] | None:
    """``(transform of the steps before the last, last estimator)`` for a Pipeline of column-wise scalers."""
    if type(native).__name__ != "Pipeline" or not type(native).__module__.startswith("sklearn"):
        return None
    steps = list(getattr(native, "steps", []))
    if not steps:
        return None
    for _, transformer in steps[:-1]:
        if transformer in (None, "passthrough"):
            continue
        if type(transformer).__name__ not in _ELEMENTWISE or not type(transformer).__module__.startswith("sklearn"):
            return None
    final = steps[-1][1]
    if not (_is_tree(final) or _is_linear(final)):
        return None
    head = native[:-1]  # type: ignore[index]

    def transform(frame: pd.DataFrame) -> Any:
        return np.asarray(head.transform(frame), dtype=float)

    return transform, final


def _as_model_input(native: object) -> Callable[[pd.DataFrame], Any]:
    if hasattr(native, "feature_names_in_") or _library(native) in ("xgboost", "lightgbm"):
        return lambda frame: frame
    return lambda frame: frame.to_numpy()


def _library(obj: object) -> str:
    return type(obj).__module__.split(".", 1)[0]


def _is_tree(obj: object) -> bool:
    library = _library(obj)
    if library in ("xgboost", "lightgbm"):
        name = type(obj).__name__
        if name == "Booster":
            return True
        booster = getattr(obj, "booster", None)
        return library == "lightgbm" or booster in (None, "gbtree", "dart")
    return library == "sklearn" and type(obj).__name__ in _SKLEARN_TREES


def _is_linear(obj: object) -> bool:
    module = type(obj).__module__
    return module.startswith("sklearn.linear_model") and hasattr(obj, "coef_") and hasattr(obj, "intercept_")


def _is_classifier(obj: object) -> bool:
    return hasattr(obj, "classes_") or type(obj).__name__.endswith("Classifier")


def _pick(values: Any, expected: Any, class_index: int | None) -> tuple[np.ndarray, float, int | None]:
    """One output's attributions and base value out of shap's per-output arrays."""
    array = np.asarray(values, dtype=float)
    if isinstance(values, list):  # older shap: a list of per-class arrays
        array = np.stack([np.asarray(v, dtype=float) for v in values], axis=-1)
    base = np.atleast_1d(np.asarray(expected, dtype=float))
    if array.ndim == 3:
        outputs = array.shape[2]
        index = outputs - 1 if class_index is None else class_index
        if not -outputs <= index < outputs:
            raise InvalidInput(f"class_index {class_index} is out of range for a model with {outputs} outputs")
        return array[:, :, index], float(base[index]), index % outputs
    if class_index not in (None, 0, 1, -1):
        raise InvalidInput(f"class_index {class_index} is out of range for a model with one output")
    return array, float(base[0]), None


def _class_label(model: object, index: int | None, *, binary_default: bool) -> str:
    classes = getattr(model, "classes_", None)
    if index is None:
        if classes is not None and len(classes) == 2 and binary_default:
            return f"class {classes[-1]}"
        return "class 1" if binary_default else ""
    if classes is not None and index < len(classes):
        return f"class {classes[index]}"
    return f"class #{index}"


def _tree(
    shap: Any, predictor: Predictor, model: object, transform: Callable[[pd.DataFrame], Any], class_index: int | None
) -> Explainer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    library = _library(model)
    classifier = _is_classifier(model) or predictor.has_predict_proba

    def compute(frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LightGBM's "output has changed to a list" notice
            raw = explainer.shap_values(transform(frame), check_additivity=False)
        values, base, _ = _pick(raw, explainer.expected_value, class_index)
        return values, base

    if library == "sklearn" and type(model).__name__.startswith(("RandomForest", "ExtraTree", "DecisionTree")):
        space = "probability" if classifier else "prediction"
    elif classifier:
        space = "log-odds (raw margin)"
    else:
        space = "raw prediction"
    default_index = class_index
    if default_index is None and classifier:
        classes = getattr(model, "classes_", None)
        default_index = len(classes) - 1 if classes is not None and len(classes) > 2 else None
    label = _class_label(model, default_index, binary_default=classifier) if classifier else ""
    output = f"{space} of {label}" if label else space
    return Explainer(
        predictor=predictor,
        kind=ExplainerKind.TREE,
        exact=True,
        output=output,
        note="exact: shap TreeExplainer, tree-path-dependent algorithm",
        compute=compute,
    )


def _linear(
    shap: Any,
    predictor: Predictor,
    model: object,
    transform: Callable[[pd.DataFrame], Any],
    background: pd.DataFrame,
    class_index: int | None,
) -> Explainer:
    masker = np.asarray(transform(background), dtype=float)
    explainer = shap.LinearExplainer(model, masker)

    def compute(frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        raw = explainer.shap_values(np.asarray(transform(frame), dtype=float))
        values, base, _ = _pick(raw, explainer.expected_value, class_index)
        return values, base

    classifier = _is_classifier(model)
    classes = getattr(model, "classes_", None)
    index = class_index if class_index is not None else (len(classes) - 1 if classes is not None else None)
    output = f"log-odds of {_class_label(model, index, binary_default=True)}" if classifier else "prediction"
    return Explainer(
        predictor=predictor,
        kind=ExplainerKind.LINEAR,
        exact=True,
        output=output,
        note=f"exact: shap LinearExplainer (independent features), baseline the mean of {len(background)} rows",
        compute=compute,
    )


def _permutation(
    shap: Any, predictor: Predictor, background: pd.DataFrame, class_index: int | None, seed: int
) -> Explainer:
    codes = _Codes(background)
    proba = predictor.has_predict_proba

    def model_output(matrix: np.ndarray) -> np.ndarray:
        frame = codes.decode(matrix)
        if proba:
            p = np.asarray(predictor.predict_proba(frame), dtype=float)
            return p[:, -1 if class_index is None else class_index] if p.ndim == 2 else p
        out = np.asarray(predictor.predict(frame), dtype=float)
        return out.reshape(len(frame), -1)[:, 0]

    masker = shap.maskers.Independent(codes.encode(background), max_samples=len(background))
    explainer = shap.PermutationExplainer(model_output, masker, seed=seed)
    columns = len(background.columns)
    max_evals = max(2 * columns + 1, 10 * columns)

    def compute(frame: pd.DataFrame) -> tuple[np.ndarray, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = explainer(codes.encode(frame), max_evals=max_evals, silent=True)
        values = np.asarray(result.values, dtype=float)
        base = float(np.atleast_1d(result.base_values)[0])
        return values, base

    output = "probability" + ("" if class_index is None else f" of class #{class_index}") if proba else "prediction"
    return Explainer(
        predictor=predictor,
        kind=ExplainerKind.PERMUTATION,
        exact=False,
        output=output,
        note=(
            f"approximate: shap PermutationExplainer ({max_evals} model calls per row) against a background "
            f"sample of {len(background)} rows; no exact explainer for this {predictor.flavor} model"
        ),
        compute=compute,
    )


class _Codes:
    """Rows as a float matrix for shap's maskers: numbers as they are, other values as integer codes."""

    def __init__(self, background: pd.DataFrame) -> None:
        self.columns = list(background.columns)
        self.dtypes = background.dtypes
        self.levels: dict[str, dict[Any, int]] = {}
        for name in self.columns:
            if not _numeric(background[name]):
                self.levels[str(name)] = {}

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for name in self.columns:
            column = frame[name]
            levels = self.levels.get(str(name))
            if levels is None:
                parts.append(column.to_numpy(dtype=float, na_value=np.nan))
            else:
                parts.append(np.array([levels.setdefault(v, len(levels)) for v in column], dtype=float))
        return np.column_stack(parts) if parts else np.empty((len(frame), 0))

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        data: dict[Any, Any] = {}
        for j, name in enumerate(self.columns):
            levels = self.levels.get(str(name))
            if levels is None:
                data[name] = pd.Series(matrix[:, j]).astype(self.dtypes.iloc[j])
            else:
                inverse = {code: value for value, code in levels.items()}
                data[name] = pd.Series([inverse[int(c)] for c in matrix[:, j]], dtype=self.dtypes.iloc[j])
        return pd.DataFrame(data)


def _numeric(column: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column))


def _background(predictor: Predictor, background: pd.DataFrame | None, rows: int, seed: int) -> pd.DataFrame:
    """Up to ``rows`` rows of baseline data, conformed to the signature; the input example without one."""
    if background is None:
        background = predictor.input_example()
        if background is None:
            raise InvalidInput(
                "this model needs background rows to be explained (its explainer compares with them): "
                "pass data, or log the model with an input example"
            )
    if len(background) == 0:
        raise InvalidInput("the background data has no rows")
    if len(background) > rows:
        background = background.sample(n=rows, random_state=seed)
    signature = predictor.signature
    conformed = background if signature is None else enforce_signature(background, signature)
    return conformed.reset_index(drop=True)
