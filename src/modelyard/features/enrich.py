"""Serving enrichment: a deployment's requests completed with features from the online store.

A deployment that declares a ``FeatureLookup`` gets an ``OnlineEnricher`` in its serving plan:
each request (entity keys plus any request fields) is looked up in the online store and the
features are appended before the signature check and the prediction, so the model sees, and the
inference log records, what it was trained on. References are resolved when the plan is built
(a plan naming unregistered features does not load), never per request.

An entity the store knows nothing about is ``NotFound`` (HTTP 404) with ``on_missing="reject"``;
with ``"default"`` its features take the declared defaults. A request without the join keys is
``InvalidInput`` (HTTP 4xx). Neither is ever a 500.
"""

from __future__ import annotations

import pandas as pd

from modelyard.domain.serving import FeatureLookup
from modelyard.errors import InvalidInput, NotFound
from modelyard.features.store import FeatureStore


class OnlineEnricher:
    """Appends ``lookup``'s features to request rows (the serving plan's ``Enricher``)."""

    def __init__(self, store: FeatureStore, lookup: FeatureLookup) -> None:
        self._store = store
        self.lookup = lookup
        self._resolved = store.resolve(lookup.features)
        self.keys: tuple[str, ...] = tuple(self._resolved.join_keys)
        outputs = {o.column for o in self._resolved.outputs}
        unknown = sorted(set(lookup.defaults) - outputs)
        if unknown:
            raise InvalidInput(f"defaults name no looked-up feature: {', '.join(unknown)}")
        self._defaults = {k: v for k, v in lookup.defaults.items() if v is not None}

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        result = self._store.online_lookup(self._resolved, frame)
        if result.missing and self.lookup.on_missing == "reject":
            view, rows = next(iter(result.missing.items()))
            request = next(r for r in self._resolved.views if r.view.name == view)
            keys = {k: _plain(result.frame[k].iloc[rows[0]]) for k in request.entity.join_keys}
            raise NotFound(
                f"feature view {view!r} has no {request.entity.name} {keys}", view=view, entity=keys, rows=len(rows)
            )
        enriched = result.frame
        if self._defaults:
            fill = {k: v for k, v in self._defaults.items() if enriched[k].isna().any()}
            if fill:
                enriched = enriched.fillna(fill)
        return enriched


def _plain(value: object) -> object:
    item = getattr(value, "item", None)
    return item() if callable(item) else value
