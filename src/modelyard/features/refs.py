"""Feature references: what a caller asks for, resolved against the registered definitions.

A reference is ``view:feature`` or ``view`` (every feature of the view); an on-demand view's
features are referenced the same way. Output columns take the feature's own name, or
``view__feature`` with ``full_names`` (needed when two views share a feature name). On-demand
features need their source views' features, which are fetched even when not asked for and then
left out of the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelyard.domain.features import Entity, FeatureView, OnDemandFeatureView, ValueType
from modelyard.errors import InvalidInput, NotFound
from modelyard.features.registry import Catalog


@dataclass(frozen=True, kw_only=True)
class ViewRequest:
    """One feature view to read and which of its features (all that anything needs)."""

    view: FeatureView
    entity: Entity
    version: int
    features: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class OutputColumn:
    view: str
    feature: str
    column: str
    dtype: ValueType


@dataclass(frozen=True, kw_only=True)
class Resolved:
    """What to read (views, on-demand views) and which columns to answer with, in order."""

    views: tuple[ViewRequest, ...]
    on_demand: tuple[OnDemandFeatureView, ...]
    outputs: tuple[OutputColumn, ...]

    @property
    def join_keys(self) -> list[str]:
        keys: list[str] = []
        for request in self.views:
            keys.extend(k for k in request.entity.join_keys if k not in keys)
        return keys

    @property
    def request_fields(self) -> list[str]:
        fields: list[str] = []
        for odv in self.on_demand:
            fields.extend(f.name for f in odv.request_fields if f.name not in fields)
        return fields


def _split(ref: str) -> tuple[str, str | None]:
    if not isinstance(ref, str) or not ref:
        raise InvalidInput(f"a feature reference is 'view:feature' or 'view', not {ref!r}")
    view, sep, feature = ref.partition(":")
    if sep and not feature:
        raise InvalidInput(f"feature reference {ref!r} names no feature after ':'")
    return view, feature or None


def resolve(catalog: Catalog, refs: Sequence[str], *, full_names: bool = False) -> Resolved:
    """Resolve ``refs``; ``NotFound`` for unknown views or features, ``InvalidInput`` for clashes."""
    if isinstance(refs, str):
        refs = [refs]
    if not refs:
        raise InvalidInput("ask for at least one feature ('view:feature' or 'view')")
    wanted: dict[str, list[str]] = {}
    outputs: list[OutputColumn] = []
    on_demand: dict[str, OnDemandFeatureView] = {}
    for ref in refs:
        view_name, feature = _split(ref)
        if view_name in catalog.on_demand:
            odv = catalog.on_demand[view_name]
            names = odv.feature_names if feature is None else [feature]
            for name in names:
                outputs.append(_output(view_name, name, odv.dtype_of(name), full_names))
            on_demand[view_name] = odv
            for source in odv.sources:
                needed = wanted.setdefault(source, [])
                needed.extend(n for n in catalog.view(source).feature_names if n not in needed)
            continue
        if view_name not in catalog.views:
            known = ", ".join(sorted([*catalog.views, *catalog.on_demand])) or "none"
            raise NotFound(f"no feature view named {view_name!r} (registered: {known})", view=view_name)
        view = catalog.views[view_name]
        names = view.feature_names if feature is None else [feature]
        needed = wanted.setdefault(view_name, [])
        for name in names:
            dtype = _dtype(view, name)
            outputs.append(_output(view_name, name, dtype, full_names))
            if name not in needed:
                needed.append(name)
    seen: dict[str, str] = {}
    unique: list[OutputColumn] = []
    for out in outputs:
        if out.column in seen:
            if seen[out.column] == out.view:
                continue
            raise InvalidInput(
                f"feature {out.feature!r} comes from both {seen[out.column]!r} and {out.view!r}; "
                "ask with full_names=True to get view__feature columns"
            )
        seen[out.column] = out.view
        unique.append(out)
    requests = tuple(
        ViewRequest(
            view=catalog.views[name],
            entity=catalog.entity_of(catalog.views[name]),
            version=catalog.versions[name],
            features=tuple(features),
        )
        for name, features in wanted.items()
    )
    return Resolved(views=requests, on_demand=tuple(on_demand.values()), outputs=tuple(unique))


def _dtype(view: FeatureView, feature: str) -> ValueType:
    try:
        return view.dtype_of(feature)
    except InvalidInput as exc:
        raise NotFound(exc.message, view=view.name, feature=feature) from None


def _output(view: str, feature: str, dtype: ValueType, full_names: bool) -> OutputColumn:
    return OutputColumn(view=view, feature=feature, column=f"{view}__{feature}" if full_names else feature, dtype=dtype)
