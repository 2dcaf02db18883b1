"""The package's public names all resolve (the services load on first use)."""

from __future__ import annotations

import modelyard
import modelyard.features


def test_every_public_name_resolves() -> None:
    for name in modelyard.features.__all__:
        assert getattr(modelyard.features, name) is not None, name


def test_the_sdk_entrance_is_my_feature_store() -> None:
    assert "feature_store" in modelyard.__all__
    assert hasattr(modelyard.feature_store, "get_historical_features")
