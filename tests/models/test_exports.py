"""The public surface of ``modelyard.models`` is what ``__all__`` says, and nothing private leaks."""

from __future__ import annotations

import modelyard.models as models


def test_all_names_exist_and_are_public() -> None:
    assert sorted(models.__all__) == sorted(set(models.__all__))
    for name in models.__all__:
        assert hasattr(models, name), name
        assert not name.startswith("_")


def test_every_public_attribute_is_exported() -> None:
    public = {name for name in vars(models) if not name.startswith("_")}
    submodules = {
        "digest", "dtypes", "examples", "flavors", "format", "mlflow_convert", "mlflow_format", "mlflow_pyfunc",
        "mlflow_signature", "mlflow_write", "predictor", "signature",
    }  # fmt: skip
    assert public - submodules == set(models.__all__)


def test_the_api_the_registry_builds_on_keeps_its_keywords() -> None:
    import inspect

    save = inspect.signature(models.save_model).parameters
    assert list(save) == ["model", "path", "input_example", "signature", "flavor", "requirements", "clock"]
    assert list(inspect.signature(models.load_model_dir).parameters) == ["path", "expected_digest"]
    assert list(inspect.signature(models.read_manifest).parameters) == ["path", "verify"]
