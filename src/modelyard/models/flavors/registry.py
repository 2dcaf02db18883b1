"""The flavors modelyard knows, in the order detection tries them.

Order matters because detection is by "what is this object?" and the answers overlap: an
``XGBClassifier`` is also a scikit-learn estimator, and every model has a ``predict`` method and
so fits pyfunc. Library-native flavors come first (their formats are data, not pickles), then
scikit-learn, then the path of an MLflow model folder kept as is, then pyfunc as the catch-all.
"""

from __future__ import annotations

from modelyard.errors import InvalidInput
from modelyard.models.flavors.base import Flavor
from modelyard.models.flavors.lightgbm import LightGBMFlavor
from modelyard.models.flavors.mlflow import MlflowFlavor
from modelyard.models.flavors.onnx import OnnxFlavor
from modelyard.models.flavors.pyfunc import PyfuncFlavor
from modelyard.models.flavors.sklearn import SklearnFlavor
from modelyard.models.flavors.xgboost import XGBoostFlavor

FLAVORS: tuple[Flavor, ...] = (
    XGBoostFlavor(),
    LightGBMFlavor(),
    OnnxFlavor(),
    SklearnFlavor(),
    MlflowFlavor(),
    PyfuncFlavor(),
)


def flavor_names() -> tuple[str, ...]:
    """The names a manifest's ``flavor`` field may hold."""
    return tuple(flavor.name for flavor in FLAVORS)


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``; ``InvalidInput`` listing the known ones otherwise."""
    for flavor in FLAVORS:
        if flavor.name == name:
            return flavor
    raise InvalidInput(f"unknown model flavor {name!r}; known: {', '.join(flavor_names())}", flavor=name)


def detect_flavor(obj: object) -> Flavor:
    """The first flavor that can save ``obj``; ``InvalidInput`` saying what is needed otherwise."""
    for flavor in FLAVORS:
        if flavor.detect(obj):
            return flavor
    raise InvalidInput(
        f"cannot save a {type(obj).__module__}.{type(obj).__qualname__} as a model: pass a "
        "scikit-learn, XGBoost or LightGBM model, an onnx.ModelProto or .onnx path, or any "
        "object with a predict(DataFrame) method"
    )
