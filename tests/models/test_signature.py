"""Signature inference from examples of every dtype, and enforcement of every kind of mismatch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.errors import InvalidInput
from modelyard.models import (
    ColumnSpec,
    DataType,
    ModelSignature,
    TensorSpec,
    enforce_signature,
    infer_signature,
)


def _types(signature: ModelSignature) -> dict[str, tuple[DataType, bool]]:
    return {c.name: (c.dtype, c.optional) for c in signature.inputs}


def _sig(**columns: DataType) -> ModelSignature:
    return ModelSignature(inputs=tuple(ColumnSpec(name=n, dtype=t) for n, t in columns.items()))


# --- inference ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([True, False]), DataType.BOOLEAN),
        (np.array([1, 2], dtype=np.int8), DataType.INT32),
        (np.array([1, 2], dtype=np.int16), DataType.INT32),
        (np.array([1, 2], dtype=np.int32), DataType.INT32),
        (np.array([1, 2], dtype=np.int64), DataType.INT64),
        (np.array([1, 2], dtype=np.uint8), DataType.INT32),
        (np.array([1, 2], dtype=np.uint16), DataType.INT32),
        (np.array([1, 2], dtype=np.uint32), DataType.INT64),
        (np.array([1.5, 2], dtype=np.float16), DataType.FLOAT32),
        (np.array([1.5, 2], dtype=np.float32), DataType.FLOAT32),
        (np.array([1.5, 2], dtype=np.float64), DataType.FLOAT64),
        (pd.array(["a", "b"], dtype="string"), DataType.STRING),
        (pd.array(["a", "b"], dtype="str"), DataType.STRING),
        (np.array(["a", "b"], dtype=object), DataType.STRING),
        (pd.Categorical(["a", "b", "a"]), DataType.STRING),
        (pd.to_datetime(["2024-01-01", "2024-06-01"]), DataType.DATETIME),
        (pd.to_datetime(["2024-01-01", "2024-06-01"]).tz_localize("UTC"), DataType.DATETIME),
        (pd.array([1, 2], dtype="Int64"), DataType.INT64),
        (pd.array([1.0, 2.0], dtype="Float32"), DataType.FLOAT32),
        (pd.array([True, False], dtype="boolean"), DataType.BOOLEAN),
    ],
    ids=lambda v: str(getattr(v, "dtype", v)),
)
def test_infers_the_type_of_every_supported_dtype(values: object, expected: DataType) -> None:
    frame = pd.DataFrame({"col": values})
    signature = infer_signature(frame)
    assert signature.inputs == (ColumnSpec(name="col", dtype=expected, optional=False),)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, np.nan, 3.0], DataType.FLOAT64),
        (pd.array([1, None, 3], dtype="Int64"), DataType.INT64),
        (np.array(["a", None, "c"], dtype=object), DataType.STRING),
        (pd.array(["a", None, "c"], dtype="string"), DataType.STRING),
        (pd.array([True, None, False], dtype="boolean"), DataType.BOOLEAN),
        (pd.to_datetime(["2024-01-01", None, "2024-02-01"]), DataType.DATETIME),
    ],
    ids=["float-nan", "Int64-na", "object-none", "string-na", "boolean-na", "datetime-nat"],
)
def test_a_column_with_missing_values_is_optional(values: object, expected: DataType) -> None:
    signature = infer_signature(pd.DataFrame({"a": [1, 2, 3], "m": values}))
    assert _types(signature) == {"a": (DataType.INT64, False), "m": (expected, True)}


def test_column_order_of_the_example_is_kept() -> None:
    signature = infer_signature(pd.DataFrame({"z": [1], "a": [1.0], "m": ["s"]}))
    assert signature.input_names == ("z", "a", "m")


@pytest.mark.parametrize(
    "values",
    [np.array([1, "a"], dtype=object), np.array([1, 2], dtype=np.uint64), np.array([1 + 2j, 3j])],
    ids=["mixed-object", "uint64", "complex"],
)
def test_a_column_with_no_signature_type_is_refused_by_name(values: np.ndarray) -> None:
    with pytest.raises(InvalidInput, match="'weird'") as info:
        infer_signature(pd.DataFrame({"fine": [1.0, 2.0], "weird": values}))
    assert info.value.details["column"] == "weird"


def test_other_example_shapes_become_named_columns() -> None:
    from_array = infer_signature(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert _types(from_array) == {"0": (DataType.FLOAT64, False), "1": (DataType.FLOAT64, False)}
    from_row = infer_signature({"a": 1, "b": "x"})
    assert _types(from_row) == {"a": (DataType.INT64, False), "b": (DataType.STRING, False)}
    from_columns = infer_signature({"a": [1.0, None]})
    assert _types(from_columns) == {"a": (DataType.FLOAT64, True)}
    from_records = infer_signature([{"a": True, "b": 2.5}, {"a": False, "b": 1.0}])
    assert _types(from_records) == {"a": (DataType.BOOLEAN, False), "b": (DataType.FLOAT64, False)}


@pytest.mark.parametrize(
    "example", [np.array([1.0, 2.0]), [], "a,b", pd.DataFrame(index=[0, 1])], ids=["1-d", "empty", "str", "no-columns"]
)
def test_unusable_examples_are_refused(example: object) -> None:
    with pytest.raises(InvalidInput):
        infer_signature(example)  # type: ignore[arg-type]


def test_outputs_are_recorded_from_a_prediction() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    labels = infer_signature(frame, np.array([0, 1, 1]))
    assert labels.outputs == (TensorSpec(dtype="int64", shape=(-1,)),)
    probabilities = infer_signature(frame, np.zeros((3, 2), dtype=np.float32))
    assert probabilities.outputs == (TensorSpec(dtype="float32", shape=(-1, 2)),)
    named = infer_signature(frame, pd.Series([0.5, 0.2, 0.1], name="score"))
    assert named.outputs == (ColumnSpec(name="score", dtype=DataType.FLOAT64),)
    table = infer_signature(frame, pd.DataFrame({"label": ["a", "b", "c"], "p": [0.1, 0.2, 0.3]}))
    assert [(s.name, s.dtype) for s in table.outputs] == [  # type: ignore[union-attr]
        ("label", DataType.STRING),
        ("p", DataType.FLOAT64),
    ]
    assert infer_signature(frame).outputs == ()


def test_signature_survives_its_dict_form() -> None:
    signature = ModelSignature(
        inputs=(
            ColumnSpec(name="a", dtype=DataType.INT32, optional=True),
            ColumnSpec(name="b", dtype=DataType.DATETIME),
        ),
        outputs=(TensorSpec(dtype="float32", shape=(-1, 3)), ColumnSpec(name="y", dtype=DataType.STRING)),
    )
    assert ModelSignature.from_dict(signature.to_dict()) == signature


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "'inputs'"),
        ({"inputs": []}, "at least one input"),
        ({"inputs": [{"name": "a", "dtype": "float64"}, {"name": "a", "dtype": "int64"}]}, "'a' appears twice"),
        ({"inputs": [{"name": "a", "dtype": "decimal"}]}, "'decimal'"),
        ({"inputs": [{"dtype": "float64"}]}, "'name'"),
        (
            {"inputs": [{"name": "a", "dtype": "int64"}], "outputs": [{"kind": "tensor", "shape": "x", "dtype": "f"}]},
            "shape",
        ),
    ],
)
def test_malformed_signature_dicts_are_refused(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        ModelSignature.from_dict(data)


# --- enforcement ----------------------------------------------------------------------------


def _problems(error: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {p["column"]: p["problem"] for p in error.value.details["problems"]}


def test_a_matching_frame_passes_unchanged() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    signature = infer_signature(frame)
    assert enforce_signature(frame, signature) is frame


def test_a_missing_column_is_named() -> None:
    signature = _sig(a=DataType.FLOAT64, b=DataType.INT64)
    with pytest.raises(InvalidInput, match=r"column 'b': missing") as info:
        enforce_signature(pd.DataFrame({"a": [1.0]}), signature)
    assert _problems(info) == {"b": "missing (required int64 column)"}


def test_an_extra_column_is_named_and_refused() -> None:
    signature = _sig(a=DataType.FLOAT64)
    with pytest.raises(InvalidInput, match=r"column 'surprise': not in the signature") as info:
        enforce_signature(pd.DataFrame({"a": [1.0], "surprise": [2]}), signature)
    assert list(_problems(info)) == ["surprise"]


@pytest.mark.parametrize(
    ("expected", "values", "got"),
    [
        (DataType.FLOAT64, ["1.5", "2"], "string"),
        (DataType.STRING, [1.0, 2.0], "float64"),
        (DataType.BOOLEAN, [1, 0], "int64"),
        (DataType.FLOAT64, [True, False], "boolean"),
        (DataType.INT64, [1.5, 2.0], r"float64 \(floats must be whole numbers in range\)"),
        (DataType.INT32, np.array([1, 2], dtype=np.int64), "int64"),
        (DataType.DATETIME, ["2024-01-01", "yesterday"], r"string \(strings must be ISO 8601 dates\)"),
        (DataType.STRING, pd.to_datetime(["2024-01-01"]), "datetime"),
        (DataType.FLOAT64, np.array([1, "a"], dtype=object), "object"),
    ],
    ids=[
        "string-for-float",
        "float-for-string",
        "int-for-bool",
        "bool-for-float",
        "fractional-float-for-int",
        "int64-for-int32",
        "non-iso-string-for-datetime",
        "datetime-for-string",
        "mixed-for-float",
    ],
)
def test_a_wrong_or_narrowing_type_is_refused_naming_column_and_types(
    expected: DataType, values: object, got: str
) -> None:
    signature = _sig(ok=DataType.FLOAT64, col=expected)
    frame = pd.DataFrame({"ok": [0.5] * len(values), "col": values})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=rf"column 'col': expected {expected.value}, got {got}") as info:
        enforce_signature(frame, signature)
    assert list(_problems(info)) == ["col"]


@pytest.mark.parametrize(
    ("expected", "values", "result_dtype"),
    [
        (DataType.FLOAT64, np.array([1, 2], dtype=np.int64), np.dtype(np.float64)),
        (DataType.FLOAT64, np.array([1, 2], dtype=np.int32), np.dtype(np.float64)),
        (DataType.FLOAT32, np.array([1, 2], dtype=np.int64), np.dtype(np.float32)),
        (DataType.FLOAT64, np.array([1.5, 2], dtype=np.float32), np.dtype(np.float64)),
        (DataType.INT64, np.array([1, 2], dtype=np.int32), np.dtype(np.int64)),
        (DataType.INT64, np.array([1, 2], dtype=np.uint8), np.dtype(np.int64)),
        (DataType.FLOAT32, np.array([1.5, 2], dtype=np.float64), np.dtype(np.float32)),
    ],
    ids=[
        "int64-float64",
        "int32-float64",
        "int64-float32",
        "float32-float64",
        "int32-int64",
        "uint8-int64",
        "float64-float32-for-json-clients",
    ],
)
def test_safe_widening_casts_are_applied(expected: DataType, values: np.ndarray, result_dtype: np.dtype) -> None:
    frame = pd.DataFrame({"col": values})
    result = enforce_signature(frame, _sig(col=expected))
    assert result["col"].dtype == result_dtype
    assert result["col"].tolist() == pytest.approx(values.tolist())
    assert frame["col"].dtype == values.dtype  # the caller's frame is not modified


def test_nullable_integers_with_missing_values_widen_to_float_with_nan() -> None:
    signature = ModelSignature(inputs=(ColumnSpec(name="a", dtype=DataType.FLOAT64, optional=True),))
    result = enforce_signature(pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}), signature)
    assert result["a"].dtype == np.float64
    assert result["a"].iloc[0] == 1.0
    assert np.isnan(result["a"].iloc[1])


@pytest.mark.parametrize(
    ("expected", "values"),
    [
        (DataType.INT32, [2.0**31, 1.0]),
        (DataType.INT64, [2.0**63, 1.0]),
        (DataType.INT64, [np.inf, 1.0]),
        (DataType.INT32, [-(2.0**31) - 1, 1.0]),
    ],
    ids=["int32-overflow", "int64-overflow", "infinity", "int32-underflow"],
)
def test_floats_out_of_integer_range_are_refused(expected: DataType, values: list[float]) -> None:
    with pytest.raises(InvalidInput, match=rf"column 'col': expected {expected.value}, got float64"):
        enforce_signature(pd.DataFrame({"col": values}), _sig(col=expected))


def test_whole_number_floats_are_accepted_as_integers() -> None:
    # what a JSON body gives for an integer column: 3.0, or float64 with NaN where it held null
    signature = ModelSignature(
        inputs=(
            ColumnSpec(name="n", dtype=DataType.INT64),
            ColumnSpec(name="m", dtype=DataType.INT32, optional=True),
        )
    )
    frame = pd.DataFrame({"n": [3.0, -2.0], "m": [1.0, np.nan]})
    result = enforce_signature(frame, signature)
    assert result["n"].dtype == np.int64 and result["n"].tolist() == [3, -2]
    assert str(result["m"].dtype) == "Int32"
    assert result["m"].iloc[0] == 1 and result["m"].isna().tolist() == [False, True]
    with pytest.raises(InvalidInput, match="'n': has missing values"):
        enforce_signature(pd.DataFrame({"n": [3.0, np.nan], "m": [1.0, 2.0]}), signature)


def test_iso_8601_strings_are_accepted_as_datetimes() -> None:
    signature = ModelSignature(
        inputs=(
            ColumnSpec(name="day", dtype=DataType.DATETIME),
            ColumnSpec(name="at", dtype=DataType.DATETIME, optional=True),
        )
    )
    frame = pd.DataFrame({"day": ["2024-01-31", "2024-02-01"], "at": ["2024-01-01T10:00:00Z", None]})
    result = enforce_signature(frame, signature)
    assert result["day"].tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-01")]
    assert result["at"].iloc[0] == pd.Timestamp("2024-01-01T10:00:00", tz="UTC")
    assert pd.isna(result["at"].iloc[1])
    mixed_zones = pd.DataFrame({"day": ["2024-01-01T00:00:00+01:00", "2024-01-01T00:00:00"], "at": [None, None]})
    with pytest.raises(InvalidInput, match="'day': expected datetime, got string"):
        enforce_signature(mixed_zones, signature)


def test_an_optional_column_not_sent_is_added_all_missing() -> None:
    signature = ModelSignature(
        inputs=(
            ColumnSpec(name="a", dtype=DataType.FLOAT64),
            *(ColumnSpec(name=t.value, dtype=t, optional=True) for t in DataType),
        )
    )
    frame = pd.DataFrame({"a": [1.0, 2.0]}, index=[3, 4])
    result = enforce_signature(frame, signature)
    assert list(result.columns) == list(signature.input_names)
    assert list(result.index) == [3, 4]
    for spec in signature.inputs[1:]:
        assert result[spec.name].isna().all(), spec.name
    # the filled frame still satisfies the signature (each column has the declared type)
    assert infer_signature(result.dropna(axis="columns", how="all")).inputs == signature.inputs[:1]
    assert enforce_signature(result, signature)["float32"].dtype == np.float32
    with pytest.raises(InvalidInput, match=r"'a': missing \(required float64 column\)"):
        enforce_signature(pd.DataFrame({"int64": [1]}), signature)


def test_missing_values_need_an_optional_column() -> None:
    required = _sig(a=DataType.FLOAT64, s=DataType.STRING)
    frame = pd.DataFrame({"a": [1.0, np.nan], "s": ["x", None]})
    with pytest.raises(InvalidInput) as info:
        enforce_signature(frame, required)
    assert set(_problems(info)) == {"a", "s"}
    assert "not optional" in _problems(info)["a"]
    optional = infer_signature(frame)
    assert enforce_signature(frame, optional) is frame


def test_columns_are_put_in_signature_order() -> None:
    signature = _sig(a=DataType.FLOAT64, b=DataType.STRING, c=DataType.BOOLEAN)
    frame = pd.DataFrame({"c": [True], "a": [1.0], "b": ["x"]}, index=[7])
    result = enforce_signature(frame, signature)
    assert list(result.columns) == ["a", "b", "c"]
    assert list(result.index) == [7]
    assert result.loc[7].tolist() == [1.0, "x", True]


def test_strings_and_datetimes_conform_in_any_representation() -> None:
    signature = _sig(s=DataType.STRING, t=DataType.DATETIME)
    frame = pd.DataFrame(
        {
            "s": pd.array(["x", "y"], dtype="string"),
            "t": pd.to_datetime(["2024-01-01", "2024-01-02"]).tz_localize("UTC"),
        }
    )
    assert enforce_signature(frame, signature) is frame
    as_objects = pd.DataFrame({"s": np.array(["x", "y"], dtype=object), "t": pd.to_datetime(["2024-01-01"] * 2)})
    assert enforce_signature(as_objects, signature) is as_objects


def test_integer_labels_match_a_signature_inferred_from_an_array() -> None:
    array = np.array([[1.0, 2.0], [3.0, 4.0]])
    signature = infer_signature(array)
    result = enforce_signature(pd.DataFrame(array), signature)
    assert list(result.columns) == ["0", "1"]
    assert result.to_numpy().tolist() == array.tolist()


def test_every_problem_is_reported_at_once() -> None:
    signature = _sig(a=DataType.FLOAT64, b=DataType.INT64, c=DataType.STRING)
    frame = pd.DataFrame({"a": ["no"], "c": ["ok"], "d": [1]})
    with pytest.raises(InvalidInput) as info:
        enforce_signature(frame, signature)
    assert set(_problems(info)) == {"a", "b", "d"}
    message = str(info.value)
    assert "'a'" in message and "'b'" in message and "'d'" in message


def test_error_messages_do_not_echo_values() -> None:
    signature = _sig(secret=DataType.FLOAT64)
    with pytest.raises(InvalidInput) as info:
        enforce_signature(pd.DataFrame({"secret": ["hunter2"]}), signature)
    assert "hunter2" not in str(info.value)


def test_duplicate_columns_and_non_frames_are_refused() -> None:
    signature = _sig(a=DataType.FLOAT64)
    duplicated = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    with pytest.raises(InvalidInput, match="'a' appears twice"):
        enforce_signature(duplicated, signature)
    with pytest.raises(InvalidInput, match="DataFrame"):
        enforce_signature({"a": [1.0]}, signature)  # type: ignore[arg-type]
