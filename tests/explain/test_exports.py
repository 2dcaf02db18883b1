"""The public surface of ``modelyard.explain`` is what ``__all__`` says, and ``my.explain`` stays the
fluent function even after the ``modelyard.explain`` context has been imported."""

from __future__ import annotations

import importlib

import modelyard

explain = importlib.import_module("modelyard.explain")


def test_all_names_exist_and_are_public() -> None:
    assert sorted(explain.__all__) == sorted(set(explain.__all__))
    for name in explain.__all__:
        assert hasattr(explain, name), name
        assert not name.startswith("_")


def test_every_public_attribute_is_exported() -> None:
    public = {name for name in vars(explain) if not name.startswith("_")}
    submodules = {"explainers", "fairness", "global_explanation", "report", "shift"}
    assert public - submodules == set(explain.__all__)


def test_the_fluent_explain_is_not_hidden_by_the_context() -> None:
    importlib.import_module("modelyard.explain.explainers")
    assert callable(modelyard.explain)
    assert modelyard.explain.__module__ == "modelyard.sdk.explain"
