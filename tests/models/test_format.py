"""The model directory: its layout, its manifest, digest checks and atomic, non-overwriting saves."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import platform
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelyard.clock import FixedClock
from modelyard.domain.models import MANIFEST_FORMAT_VERSION
from modelyard.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from modelyard.models import (
    MANIFEST_NAME,
    ColumnSpec,
    DataType,
    ModelManifest,
    ModelSignature,
    TensorSpec,
    directory_digest,
    infer_signature,
    load_input_example,
    load_model_dir,
    manifest_digest,
    read_manifest,
    save_model,
)


@pytest.fixture
def fitted(numeric_frame: pd.DataFrame, binary_target: np.ndarray) -> LogisticRegression:
    return LogisticRegression().fit(numeric_frame, binary_target)


@pytest.fixture
def saved(tmp_path: Path, fitted: LogisticRegression, numeric_frame: pd.DataFrame) -> Path:
    target = tmp_path / "m"
    save_model(fitted, target, input_example=numeric_frame.head(3), clock=FixedClock(1_700_000_000_123))
    return target


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _edit_manifest(root: Path, **changes: object) -> None:
    """Change manifest fields and seal the result with a matching digest, as a model saved so would be."""
    file = root / MANIFEST_NAME
    data = json.loads(file.read_text())
    data.update(changes)
    data["digest"] = manifest_digest(root, ModelManifest.from_dict(data))
    file.write_text(json.dumps(data))


# --- layout and manifest ----------------------------------------------------------------------


def test_layout_of_a_saved_model(saved: Path) -> None:
    assert _files(saved) == {
        "modelyard.json",
        "model/model.pkl",
        "input_example.parquet",
        "requirements.txt",
        "MLmodel",  # the same model described to MLflow
        "input_example.json",  # MLflow's copy of the example
    }
    assert [p.name for p in saved.parent.iterdir()] == ["m"]  # no staging folder left beside it


def test_a_folder_saved_before_mlmodel_with_joblib_still_verifies_and_loads(
    saved: Path, fitted: LogisticRegression, numeric_frame: pd.DataFrame
) -> None:
    """The layout of earlier saves: the estimator in model.joblib, no MLmodel nor its example."""
    import joblib

    (saved / "model" / "model.pkl").unlink()
    joblib.dump(fitted, saved / "model" / "model.joblib")
    (saved / "MLmodel").unlink()
    (saved / "input_example.json").unlink()
    _edit_manifest(saved)  # sealed over exactly these files, as it was then
    predictor = load_model_dir(saved, expected_digest=read_manifest(saved).digest)
    np.testing.assert_array_equal(predictor.predict(numeric_frame), fitted.predict(numeric_frame))


def test_manifest_fields(saved: Path, numeric_frame: pd.DataFrame) -> None:
    manifest = read_manifest(saved)
    assert manifest.format_version == MANIFEST_FORMAT_VERSION
    assert manifest.flavor == "sklearn"
    assert manifest.model_path == "model"
    assert manifest.created_time == 1_700_000_000_123
    assert manifest.python_version == platform.python_version()
    assert manifest.signature is not None
    assert manifest.signature.inputs == infer_signature(numeric_frame).inputs
    assert manifest.signature.outputs == (TensorSpec(dtype="int64", shape=(-1,)),)
    assert manifest.signature_enforced
    assert manifest.input_example_path == "input_example.parquet"
    assert manifest.digest == manifest_digest(saved, manifest)
    assert manifest.digest != directory_digest(saved, exclude=[MANIFEST_NAME])  # the manifest is covered too
    assert manifest.digest.startswith("sha256:") and len(manifest.digest) == len("sha256:") + 64
    for library in ("numpy", "pandas", "scikit-learn"):
        assert manifest.library_versions[library] == importlib.metadata.version(library)
    sklearn_pin = f"scikit-learn=={importlib.metadata.version('scikit-learn')}"
    assert sklearn_pin in manifest.requirements
    requirements_file = (saved / "requirements.txt").read_text().splitlines()
    assert requirements_file == list(manifest.requirements)
    stored = json.loads((saved / MANIFEST_NAME).read_text())
    assert stored["signature_enforced"] is True
    assert ModelManifest.from_dict(stored) == manifest


def test_save_returns_the_manifest_it_wrote(tmp_path: Path, fitted: LogisticRegression) -> None:
    manifest = save_model(fitted, tmp_path / "m")
    assert read_manifest(tmp_path / "m") == manifest


def test_input_example_round_trips(saved: Path, numeric_frame: pd.DataFrame) -> None:
    example = load_input_example(saved)
    assert example is not None
    pd.testing.assert_frame_equal(example, numeric_frame.head(3))


def test_example_parquet_cannot_hold_falls_back_to_json(tmp_path: Path) -> None:
    class Echo:
        def predict(self, df: pd.DataFrame) -> np.ndarray:
            return np.zeros(len(df))

    example = pd.DataFrame({"a": [1.0, 2.0], "mixed": np.array([1, "b"], dtype=object)})
    signature = ModelSignature(inputs=(ColumnSpec(name="a", dtype=DataType.FLOAT64),))
    with pytest.raises(InvalidInput, match="'mixed'"):
        save_model(Echo(), tmp_path / "strict", input_example=example, signature=signature)
    assert not (tmp_path / "strict").exists()
    # without a signature the mixed column has no type, so inference refuses it too
    with pytest.raises(InvalidInput, match="'mixed'"):
        save_model(Echo(), tmp_path / "inferred", input_example=example)
    assert list(tmp_path.iterdir()) == []


class _Scores:
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"score": df["a"] * 0.5, "label": np.where(df["a"] > 1, "big", "small")})


class _BrokenOnExample:
    def predict(self, df: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("needs a database connection")


def test_outputs_are_inferred_from_the_saved_model_on_its_example(tmp_path: Path) -> None:
    example = pd.DataFrame({"a": [1.0, 2.0]})
    manifest = save_model(_Scores(), tmp_path / "m", input_example=example)
    assert manifest.signature is not None
    assert manifest.signature.outputs == (
        ColumnSpec(name="score", dtype=DataType.FLOAT64),
        ColumnSpec(name="label", dtype=DataType.STRING),
    )
    assert read_manifest(tmp_path / "m").signature == manifest.signature


def test_a_model_failing_on_its_example_is_saved_without_outputs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    example = pd.DataFrame({"a": [1.0, 2.0]})
    with caplog.at_level(logging.WARNING, logger="modelyard.models.format"):
        manifest = save_model(_BrokenOnExample(), tmp_path / "m", input_example=example)
    assert manifest.signature == infer_signature(example)
    assert manifest.signature.outputs == ()
    assert "RuntimeError: needs a database connection" in caplog.text
    assert read_manifest(tmp_path / "m") == manifest


def test_requirements_replace_the_inferred_ones(tmp_path: Path, fitted: LogisticRegression) -> None:
    manifest = save_model(fitted, tmp_path / "m", requirements=["scikit-learn>=1.4", " mylib==2.0 "])
    assert manifest.requirements == ("scikit-learn>=1.4", "mylib==2.0")
    assert (tmp_path / "m" / "requirements.txt").read_text() == "scikit-learn>=1.4\nmylib==2.0\n"


@pytest.mark.parametrize("requirements", ["numpy", ["ok", ""], ["a\nb"]], ids=["string", "empty", "multiline"])
def test_malformed_requirements_are_refused(tmp_path: Path, fitted: LogisticRegression, requirements: object) -> None:
    with pytest.raises(InvalidInput, match="requirement"):
        save_model(fitted, tmp_path / "m", requirements=requirements)  # type: ignore[arg-type]
    assert not (tmp_path / "m").exists()


def test_a_model_saved_without_signature_is_not_enforced(
    tmp_path: Path, fitted: LogisticRegression, numeric_frame: pd.DataFrame
) -> None:
    manifest = save_model(fitted, tmp_path / "m")
    assert manifest.signature is None
    assert manifest.input_example_path is None
    assert json.loads((tmp_path / "m" / MANIFEST_NAME).read_text())["signature_enforced"] is False
    assert load_input_example(tmp_path / "m") is None
    predictor = load_model_dir(tmp_path / "m")
    np.testing.assert_array_equal(predictor.predict(numeric_frame), fitted.predict(numeric_frame))


def test_an_explicit_signature_is_kept_and_the_example_must_satisfy_it(
    tmp_path: Path, fitted: LogisticRegression, numeric_frame: pd.DataFrame
) -> None:
    signature = ModelSignature(
        inputs=(
            ColumnSpec(name="x1", dtype=DataType.FLOAT64),
            ColumnSpec(name="x2", dtype=DataType.FLOAT64, optional=True),
            ColumnSpec(name="n", dtype=DataType.FLOAT64),
        )
    )
    manifest = save_model(fitted, tmp_path / "ok", input_example=numeric_frame.head(2), signature=signature)
    assert manifest.signature == signature
    wrong = ModelSignature(inputs=(ColumnSpec(name="x1", dtype=DataType.STRING),))
    with pytest.raises(InvalidInput, match="'x1'"):
        save_model(fitted, tmp_path / "bad", input_example=numeric_frame.head(2), signature=wrong)
    assert not (tmp_path / "bad").exists()


# --- digest verification -------------------------------------------------------------------


def test_digest_is_stable_and_sensitive_to_every_change(saved: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(saved, copy)
    original = directory_digest(saved)
    assert directory_digest(copy) == original
    (copy / "requirements.txt").rename(copy / "requirements2.txt")
    renamed = directory_digest(copy)
    assert renamed != original
    (copy / "extra").write_bytes(b"")
    assert directory_digest(copy) not in (original, renamed)
    assert directory_digest(copy, exclude=["extra"]) == renamed


def test_a_tampered_model_file_is_refused(saved: Path) -> None:
    model_file = saved / "model" / "model.pkl"
    data = bytearray(model_file.read_bytes())
    data[-1] ^= 0xFF
    model_file.write_bytes(bytes(data))
    with pytest.raises(Conflict, match="do not match its digest") as info:
        load_model_dir(saved)
    assert info.value.details["expected"] == read_manifest(saved, verify=False).digest
    assert info.value.details["actual"] == manifest_digest(saved, read_manifest(saved, verify=False))


@pytest.mark.parametrize("change", ["added", "removed"])
def test_an_added_or_removed_file_is_refused(saved: Path, change: str) -> None:
    if change == "added":
        (saved / "model" / "backdoor.py").write_text("print('hi')\n")
    else:
        (saved / "input_example.parquet").unlink()
    with pytest.raises(Conflict):
        read_manifest(saved)
    read_manifest(saved, verify=False)  # still readable when the caller opts out


def test_a_replaced_manifest_is_refused_given_the_expected_digest(
    tmp_path: Path, saved: Path, numeric_frame: pd.DataFrame, binary_target: np.ndarray
) -> None:
    expected = read_manifest(saved).digest
    # Swap in another model's files together with its (self-consistent) manifest.
    other = tmp_path / "other"
    save_model(LinearRegression().fit(numeric_frame, binary_target), other, input_example=numeric_frame.head(3))
    for name in ("model/model.pkl", "MLmodel"):
        shutil.copyfile(other / name, saved / name)
    shutil.copyfile(other / MANIFEST_NAME, saved / MANIFEST_NAME)
    load_model_dir(saved)  # self-consistent: the manifest alone cannot tell
    with pytest.raises(Conflict, match="expected") as info:
        load_model_dir(saved, expected_digest=expected)
    assert info.value.details == {"expected": expected, "actual": read_manifest(other).digest}
    assert load_model_dir(other, expected_digest=read_manifest(other).digest).flavor == "sklearn"


def test_library_version_drift_is_logged(saved: Path, caplog: pytest.LogCaptureFixture) -> None:
    manifest = read_manifest(saved)
    _edit_manifest(saved, library_versions={**manifest.library_versions, "numpy": "0.0.1"})
    with caplog.at_level(logging.WARNING, logger="modelyard.models.format"):
        load_model_dir(saved)
    drift = [r.getMessage() for r in caplog.records]
    assert len(drift) == 1
    assert "numpy 0.0.1" in drift[0] and importlib.metadata.version("numpy") in drift[0]


# --- reading broken or foreign directories --------------------------------------------------


def test_missing_directory_or_manifest_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no model directory"):
        read_manifest(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match=MANIFEST_NAME):
        load_model_dir(tmp_path / "empty")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not a valid manifest"),
        ("[1, 2]", "JSON object"),
        ('{"format_version": 1}', "'flavor'"),
        (
            '{"format_version": "1", "flavor": "sklearn", "digest": "d", "created_time": 1, "python_version": "3"}',
            "'format_version' must be an integer",
        ),
        (
            '{"format_version": 1, "flavor": "sklearn", "digest": "d", "created_time": 1, "python_version": "3",'
            ' "signature": {"inputs": [{"name": "a", "dtype": "int64"}], "outputs": ["x"]}}',
            "signature output must be a JSON object",
        ),
    ],
    ids=["syntax", "array", "missing-field", "string-version", "bad-output"],
)
def test_unreadable_manifest_is_invalid(saved: Path, content: str, fragment: str) -> None:
    (saved / MANIFEST_NAME).write_text(content)
    with pytest.raises(InvalidInput, match=fragment):
        read_manifest(saved)


def test_a_newer_format_asks_for_an_upgrade(saved: Path) -> None:
    _edit_manifest(saved, format_version=MANIFEST_FORMAT_VERSION + 1)
    with pytest.raises(InvalidInput, match="upgrade modelyard"):
        load_model_dir(saved)


@pytest.mark.parametrize("field", ["model_path", "input_example_path"])
def test_manifest_paths_may_not_leave_the_directory(saved: Path, field: str) -> None:
    _edit_manifest(saved, **{field: "../elsewhere"})
    with pytest.raises(InvalidInput, match="outside the model directory"):
        read_manifest(saved)


def test_unknown_flavor_in_a_manifest_is_named(saved: Path) -> None:
    _edit_manifest(saved, flavor="tensorflow")
    with pytest.raises(InvalidInput, match="'tensorflow'"):
        load_model_dir(saved)


# --- atomic, non-overwriting saves ----------------------------------------------------------


class _Unpicklable:
    """A pyfunc model whose state cannot be pickled (a generator), so saving fails half-way."""

    def __init__(self) -> None:
        self.state = (i for i in range(3))

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(df))


def test_a_failed_save_leaves_nothing(tmp_path: Path, numeric_frame: pd.DataFrame) -> None:
    parent = tmp_path / "models"
    with pytest.raises(InvalidInput, match="cannot be pickled"):
        save_model(_Unpicklable(), parent / "m", input_example=numeric_frame.head(2))
    assert list(parent.iterdir()) == []


def test_a_failed_flavor_save_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not fitted"):
        save_model(LogisticRegression(), tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_saving_onto_an_existing_model_is_refused(
    saved: Path, numeric_frame: pd.DataFrame, binary_target: np.ndarray
) -> None:
    before = {name: (saved / name).read_bytes() for name in _files(saved)}
    with pytest.raises(AlreadyExists, match="already exists"):
        save_model(LinearRegression().fit(numeric_frame, binary_target), saved)
    assert {name: (saved / name).read_bytes() for name in _files(saved)} == before
    assert [p.name for p in saved.parent.iterdir()] == ["m"]


def test_saving_onto_a_file_is_refused_but_an_empty_folder_is_used(tmp_path: Path, fitted: LogisticRegression) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(AlreadyExists):
        save_model(fitted, tmp_path / "file")
    (tmp_path / "empty").mkdir()
    save_model(fitted, tmp_path / "empty")
    assert read_manifest(tmp_path / "empty").flavor == "sklearn"


def test_save_creates_missing_parents(tmp_path: Path, fitted: LogisticRegression) -> None:
    save_model(fitted, tmp_path / "a" / "b" / "m")
    assert read_manifest(tmp_path / "a" / "b" / "m").flavor == "sklearn"


def test_an_edited_manifest_is_refused(saved: Path) -> None:
    """Making a column optional in modelyard.json alone (no other file touched) is caught."""
    path = saved / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    manifest["signature"]["inputs"][0]["optional"] = True
    path.write_text(json.dumps(manifest, indent=2))
    with pytest.raises(Conflict, match=r"modelyard\.json were modified"):
        load_model_dir(saved)


def test_a_format_1_directory_still_loads(saved: Path) -> None:
    path = saved / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 1
    manifest["digest"] = directory_digest(saved, exclude=[MANIFEST_NAME])
    path.write_text(json.dumps(manifest))
    assert read_manifest(saved).format_version == 1
    load_model_dir(saved)
