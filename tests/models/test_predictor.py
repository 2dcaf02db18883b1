"""``Predictor``: signature enforcement before the model runs, and the user-code error boundary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from modelyard.errors import InvalidInput, UserCodeError
from modelyard.models import ColumnSpec, DataType, ModelSignature, Predictor, load_model_dir, save_model

from .conftest import SaveLoad


class RecordingModel:
    """Remembers the frame it was called with, so tests can see what enforcement handed over."""

    def __init__(self) -> None:
        self.seen: list[pd.DataFrame] = []

    def predict(self, df: pd.DataFrame) -> pd.Series:
        self.seen.append(df)
        return df.iloc[:, 0] * 2


class FailingModel:
    def predict(self, df: pd.DataFrame) -> np.ndarray:
        raise ZeroDivisionError("boom in user code")

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        raise KeyError("proba broke")


class ScalarModel:
    def predict(self, df: pd.DataFrame) -> float:
        return 1.0


class ListModel:
    def predict(self, df: pd.DataFrame) -> list[str]:
        return ["a"] * len(df)


class InvalidInputModel:
    """A model that raises modelyard's own error type; it passes through as is."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        raise InvalidInput("the model refuses this row")


def _loaded(predictor: Predictor) -> RecordingModel:
    return predictor._model._model  # type: ignore[attr-defined, no-any-return]


def test_the_model_sees_the_frame_cast_and_ordered_by_the_signature(save_load: SaveLoad) -> None:
    example = pd.DataFrame({"a": [1.5, 2.5], "b": pd.array([1, 2], dtype="int64")})
    _, predictor = save_load(RecordingModel(), input_example=example)
    request = pd.DataFrame({"b": np.array([3, 4], dtype=np.int32), "a": [10, 20]})
    result = predictor.predict(request)
    np.testing.assert_array_equal(result, [20.0, 40.0])
    (seen,) = _loaded(predictor).seen
    assert list(seen.columns) == ["a", "b"]
    assert seen.dtypes.tolist() == [np.dtype(np.float64), np.dtype(np.int64)]


def test_a_mismatching_request_never_reaches_the_model(save_load: SaveLoad) -> None:
    _, predictor = save_load(RecordingModel(), input_example=pd.DataFrame({"a": [1.0]}))
    with pytest.raises(InvalidInput, match=r"column 'a': expected float64, got string"):
        predictor.predict(pd.DataFrame({"a": ["x"]}))
    with pytest.raises(InvalidInput, match=r"column 'a': missing"):
        predictor.predict(pd.DataFrame({"b": [1.0]}))
    assert _loaded(predictor).seen == []


def test_without_a_signature_inputs_pass_through(save_load: SaveLoad) -> None:
    manifest, predictor = save_load(RecordingModel())
    assert predictor.signature is None and not manifest.signature_enforced
    request = pd.DataFrame({"anything": [1, 2]})
    np.testing.assert_array_equal(predictor.predict(request), [2, 4])
    assert _loaded(predictor).seen[0] is request
    assert "signature=none" in repr(predictor)


def test_outputs_are_arrays_or_frames(save_load: SaveLoad) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    _, series_model = save_load(RecordingModel(), input_example=frame)
    assert isinstance(series_model.predict(frame), np.ndarray)
    _, list_model = save_load(ListModel(), input_example=frame)
    result = list_model.predict(frame)
    assert isinstance(result, np.ndarray) and result.tolist() == ["a", "a"]


def test_a_model_that_raises_becomes_user_code_error_with_its_cause(save_load: SaveLoad) -> None:
    frame = pd.DataFrame({"a": [1.0]})
    _, predictor = save_load(FailingModel(), input_example=frame)
    with pytest.raises(UserCodeError, match="pyfunc model raised in predict: ZeroDivisionError") as info:
        predictor.predict(frame)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert info.value.details == {"flavor": "pyfunc", "method": "predict"}
    assert predictor.has_predict_proba
    with pytest.raises(UserCodeError, match="predict_proba: KeyError") as proba_info:
        predictor.predict_proba(frame)
    assert isinstance(proba_info.value.__cause__, KeyError)


def test_modelyard_errors_raised_by_the_model_pass_unchanged(save_load: SaveLoad) -> None:
    frame = pd.DataFrame({"a": [1.0]})
    _, predictor = save_load(InvalidInputModel(), input_example=frame)
    with pytest.raises(InvalidInput, match="refuses this row"):
        predictor.predict(frame)


def test_a_model_returning_a_scalar_is_a_user_code_error(save_load: SaveLoad) -> None:
    frame = pd.DataFrame({"a": [1.0]})
    _, predictor = save_load(ScalarModel(), input_example=frame)
    with pytest.raises(UserCodeError, match="returned a float; expected an array"):
        predictor.predict(frame)


def test_non_frame_input_is_refused(save_load: SaveLoad) -> None:
    _, predictor = save_load(RecordingModel())
    with pytest.raises(InvalidInput, match="must be a pandas DataFrame, got ndarray"):
        predictor.predict(np.zeros((2, 1)))  # type: ignore[arg-type]
    _, with_proba = save_load(FailingModel())
    with pytest.raises(InvalidInput, match="must be a pandas DataFrame, got dict"):
        with_proba.predict_proba({"a": [1]})  # type: ignore[arg-type]


def test_predictor_exposes_its_manifest(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    model = LinearRegression().fit(frame, [1.0, 2.0, 3.0])
    signature = ModelSignature(inputs=(ColumnSpec(name="a", dtype=DataType.FLOAT64),))
    manifest = save_model(model, tmp_path / "m", signature=signature)
    predictor = load_model_dir(tmp_path / "m")
    assert predictor.manifest == manifest
    assert predictor.signature == signature
    assert predictor.flavor == "sklearn"
    assert not predictor.has_predict_proba
    assert repr(predictor) == f"<Predictor flavor='sklearn' signature=enforced digest={manifest.digest[:19]}>"
    np.testing.assert_allclose(predictor.predict(pd.DataFrame({"a": [4]})), [4.0])
